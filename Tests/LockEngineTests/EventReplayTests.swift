import Synchronization
import LockdTestSupport
import Testing
@testable import LockEngine

/// The event hub's replay for readers that reconnect with `Last-Event-ID`,
/// without sockets: ids, the ring, ghosts.
@Suite struct EventReplayTests {
    @Test func theRingHandsOutWhatFollowsASequenceWhileItIsKept() throws {
        var ring = EventReplayRing(capacity: 4)
        let event = LockEvent(.acquired, name: try LockName("a"), fence: 1, owner: nil, client: nil, mode: .exclusive, atMs: 0)
        for sequence in UInt64(1)...6 { ring.append(.init(sequence: sequence, event: event)) }
        #expect(ring.after(3, latest: 6)?.map(\.sequence) == [4, 5, 6])
        #expect(ring.after(2, latest: 6)?.map(\.sequence) == [3, 4, 5, 6])
        #expect(ring.after(6, latest: 6)?.map(\.sequence) == [])
        #expect(ring.after(1, latest: 6) == nil, "5 wanted, 4 kept")
        #expect(ring.after(7, latest: 6) == nil, "an id not issued yet")
    }

    @Test func aReaderThatLeftAndCameBackGetsWhatItMissedOnceInOrder() async throws {
        try await StoreKind.memory.withEngine { engine, _ in
            let hub = engine.events
            let prefix = uniqueLockName() + ":"
            let lastRead = try Self.readOneAndLeave(hub, prefix: prefix)
            #expect(lastRead.hasPrefix(hub.epoch + "-"))
            hub.receive(try Self.event(prefix + "b", fence: 2))
            hub.receive(try Self.event("elsewhere:c", fence: 3))
            hub.receive(try Self.event(prefix + "d", fence: 4))

            let second = Received()
            let secondID = hub.makeWatchID()
            #expect(hub.watch(secondID, prefix: prefix, within: .all, resumingAfter: lastRead, sink: second.sink))
            hub.receive(try Self.event(prefix + "e", fence: 5))
            #expect(second.names == [prefix + "b", prefix + "d", prefix + "e"])
            #expect(hub.watcherCount == 1, "the ghost lives on as the new watch")
            hub.unwatch(secondID)

            // Ids of another process, of nothing, or too old are not resumed.
            let third = Received()
            #expect(!hub.watch(hub.makeWatchID(), prefix: prefix, within: .all, resumingAfter: "0123456789abcdef-1", sink: third.sink))
            #expect(!hub.watch(hub.makeWatchID(), prefix: prefix, within: .all, resumingAfter: lastRead, sink: third.sink),
                    "no watch covered the prefix after the last one ended without lingering")
        }
    }

    @Test func aReplayLargerThanTheLimitIsAGap() async throws {
        try await StoreKind.memory.withEngine { engine, _ in
            let hub = engine.events
            let prefix = uniqueLockName() + ":"
            let lastRead = try Self.readOneAndLeave(hub, prefix: prefix)
            for fence in Int64(2)...5 { hub.receive(try Self.event(prefix + "n\(fence)", fence: fence)) }
            let second = Received()
            #expect(!hub.watch(hub.makeWatchID(), prefix: prefix, within: .all, resumingAfter: lastRead, replayLimit: 3, sink: second.sink))
            #expect(second.names.isEmpty)
        }
    }

    @Test func eventsMissedEndTheOpenStreamsAndNoReaderResumesAcrossTheGap() async throws {
        try await StoreKind.memory.withEngine { engine, _ in
            let hub = engine.events
            let prefix = uniqueLockName() + ":"
            let lastRead = try Self.readOneAndLeave(hub, prefix: prefix)
            let open = Received()
            let ended = Atomic<Int>(0)
            let openID = hub.makeWatchID()
            hub.watch(openID, prefix: prefix, within: .all, resumingAfter: nil, sink: open.sink,
                      end: { ended.add(1, ordering: .relaxed) })
            hub.receive(try Self.event(prefix + "b", fence: 2))
            hub.breakContinuity()
            #expect(ended.load(ordering: .relaxed) == 1, "the open stream is ended")
            hub.unwatch(openID, linger: true)
            hub.receive(try Self.event(prefix + "c", fence: 3))
            let idOfB = try #require(open.ids(hub).last)
            #expect(!hub.watch(hub.makeWatchID(), prefix: prefix, within: .all, resumingAfter: lastRead, sink: Received().sink),
                    "the reader that left before the gap is not resumed across it")
            #expect(!hub.watch(hub.makeWatchID(), prefix: prefix, within: .all, resumingAfter: idOfB, sink: Received().sink),
                    "nor the one whose stream the gap ended")
            // A reader that read past the gap resumes as before.
            let after = Received()
            let afterID = hub.makeWatchID()
            hub.watch(afterID, prefix: prefix, within: .all, sink: after.sink)
            hub.receive(try Self.event(prefix + "d", fence: 4))
            hub.unwatch(afterID, linger: true)
            hub.receive(try Self.event(prefix + "e", fence: 5))
            let resumed = Received()
            #expect(hub.watch(hub.makeWatchID(), prefix: prefix, within: .all, resumingAfter: try #require(after.ids(hub).last),
                              sink: resumed.sink))
            #expect(resumed.names == [prefix + "e"])
        }
    }

    /// A reader watches `prefix`, reads one event and leaves (its watch
    /// lingers): the id of the event it read.
    static func readOneAndLeave(_ hub: LockEventHub, prefix: String) throws -> String {
        let first = Received()
        let id = hub.makeWatchID()
        hub.watch(id, prefix: prefix, within: .all, sink: first.sink)
        hub.receive(try event(prefix + "a", fence: 1))
        hub.unwatch(id, linger: true)
        return try #require(first.ids(hub).last)
    }

    static func event(_ name: String, fence: Int64) throws -> LockEvent {
        LockEvent(.released, name: try LockName(name), fence: fence, owner: nil, client: nil, mode: .exclusive, atMs: 0)
    }
}

/// What one watch received.
private final class Received: Sendable {
    private let deliveries = Mutex<[LockEventHub.Delivery]>([])

    var sink: LockEventHub.Sink {
        { [self] delivery in
            deliveries.withLock { $0.append(delivery) }
            return true
        }
    }

    var names: [String] { deliveries.withLock { $0.map(\.event.name.value) } }

    func ids(_ hub: LockEventHub) -> [String] { deliveries.withLock { $0.map { hub.eventID($0.sequence) } } }
}
