@testable import LockEngine
import LockdTestSupport
import Synchronization
import Testing

/// review4: a grant whose answer is dropped (its client hung up as it was
/// written: `onDropped` → ``LockEngine/giveBackUndelivered(_:)``) was told to
/// event watchers as `acquired` before the answer went out; its give-back
/// ends the lease, so watchers must hear that it ended — not, a whole TTL
/// later, that it `expired`, with the lock shown held by a client that had
/// gone (and, meanwhile, by the next holder too). Nor may `lockd_locks_held`
/// count it until then, to count it as expired after.
@Suite struct GiveBackEventReviewTests {
    @Test(arguments: StoreKind.allCases)
    func anUndeliveredGrantGivenBackEndsForWatchers(store: StoreKind) async throws {
        try await store.withEngine { engine, _ in
            let name = try LockName(uniqueLockName())
            let seen = Mutex<[LockEvent]>([])
            await engine.watchEvents(engine.events.makeWatchID(), prefix: name.value, within: .all, sink: { delivery in
                seen.withLock { $0.append(delivery.event) }
                return true
            })
            // A waiting acquire: answered from a task, whose answer a hang-up can drop.
            let grant = try await engine.acquireByWaiting(AcquireRequest(name: name, ttlMs: 60_000, waitMs: 1_000, owner: "gone"))
            let fence = grant.lease.fence
            let told = await eventually { seen.withLock { $0.contains { $0.kind == .acquired && $0.fence == fence } } }
            #expect(told)

            engine.giveBackUndelivered(grant)
            let free = try await eventually { try await engine.status(of: name).holders.isEmpty }
            #expect(free, "the undelivered grant was not given back")
            let ended = await eventually(within: .seconds(5)) {
                seen.withLock { $0.contains { $0.fence == fence && $0.kind != .acquired && $0.kind != .renewed } }
            }
            #expect(ended, "watchers heard \(seen.withLock { $0.map(\.kind) }) for a lease given back; they would hear 'expired' only at its TTL")
            let kinds = seen.withLock { $0.filter { $0.fence == fence }.map(\.kind) }
            #expect(kinds == [.acquired, .released], "\(kinds)")
            #expect(engine.metrics.leases.count == 0, "lockd_locks_held still counts the lease given back")
        }
    }
}
