import LockdTestSupport
import LockdTransport
import Synchronization
import Testing

@testable import LockEngine

/// Events of one lease reach a process out of order now and then (published
/// from several loops or instances): a watcher never hears a lease go back
/// in time.
@Suite struct EventOrderTests {
    @Test func anAcquiredOrRenewedOlderThanWhatWasHeardIsDropped() throws {
        let loops = try EventLoopGroup(loopCount: 1, namePrefix: "event-order")
        defer { loops.shutdown() }
        let hub = LockEventHub(expiryBell: Doorbell(loop: loops.next()), interest: { _ in })
        let heard = Mutex<[(LockEvent.Kind, Int64)]>([])
        let name = try LockName(uniqueLockName())
        let id = hub.makeWatchID()
        hub.watch(id, prefix: "", within: .all) { delivery in
            heard.withLock { $0.append((delivery.event.kind, delivery.event.atMs)) }
            return true
        }
        defer { hub.unwatch(id) }
        func event(_ kind: LockEvent.Kind, at atMs: Int64, fence: Int64 = 7) -> LockEvent {
            LockEvent(kind, name: name, fence: fence, owner: nil, client: nil, mode: .exclusive, atMs: atMs, expiresAtMs: atMs + 30_000)
        }
        hub.receive(event(.renewed, at: 2_000))
        hub.receive(event(.acquired, at: 1_000))   // late: dropped
        hub.receive(event(.renewed, at: 1_500))    // late: dropped
        hub.receive(event(.acquired, at: 900, fence: 8))  // another lease: delivered
        hub.receive(event(.renewed, at: 3_000))
        let kinds = heard.withLock { $0.map { "\($0.0.rawValue)@\($0.1)" } }
        #expect(kinds == ["renewed@2000", "acquired@900", "renewed@3000"])
    }
}
