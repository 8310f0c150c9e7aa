import LockdRedis
import LockdTestSupport
import LockdTransport
@testable import LockEngine
import Logging
import Synchronization
import Testing

/// A grant whose answer was dropped (its client hung up) and whose give-back
/// failed (the store was out) is given back later by the upkeep. It had been
/// counted and told to watchers as granted: that later give-back must count
/// it released and tell watchers `released`, as the give-back done at once
/// does (``GiveBackEventReviewTests``) — not leave `lockd_locks_held`
/// counting, and watchers showing, a client that had gone until the lease
/// `expired` a TTL later.
@Suite struct DeferredGiveBackTests {
    /// The store's first give-back fails unsent; the upkeep's succeeds.
    /// (A wrapper carries no events: this checks the metrics.)
    @Test(arguments: StoreKind.allCases)
    func aDeferredGiveBackCountsAsReleased(store: StoreKind) async throws {
        try await store.withEngine { _, inner in
            let failing = StalledStore(inner, stalls: 0, stall: .zero, releaseFailures: 1)
            try await failing.withEngine { engine in
                let name = try LockName(uniqueLockName())
                let grant = try await engine.acquireByWaiting(AcquireRequest(name: name, ttlMs: 60_000, waitMs: 1_000, owner: "gone"))
                #expect(engine.metrics.leases.count == 1)
                engine.giveBackUndelivered(grant)
                let deferred = await eventually { engine.pendingUpkeep.withLock { $0.givenBack.count } == 1 }
                try #require(deferred, "the give-back was not deferred to the upkeep")
                #expect(try await inner.status(of: name).isHeld)
                #expect(await failing.upkeepGivesBack(engine))
                #expect(try await inner.status(of: name).isHeld == false)
                let uncounted = await eventually { engine.metrics.leases.count == 0 }
                #expect(uncounted, "lockd_locks_held still counts the lease the upkeep gave back")
            }
        }
    }

    /// Redis freezes as the grant is given back (the call times out, the
    /// give-back is deferred); once it runs again the upkeep gives the lease
    /// back, and watchers hear it was released.
    @Test func aGiveBackDeferredThroughARedisOutageEndsForWatchers() async throws {
        let server = try await offThePool { try RedisServerFixture.start() }
        let loops = try EventLoopGroup(loopCount: 1, namePrefix: "deferred-give-back")
        let backend = try RedisLockBackend(configuration: try RedisConfiguration(url: server.url), loops: loops, logger: Logger(label: "test"))
        let logs = CapturedLogs()
        let engine = LockEngine(store: backend.store, configuration: .init(), loops: loops, upkeepLoop: backend.upkeepLoop,
                                logger: Logger(label: "test") { _ in CapturingLogHandler(logs: logs) })
        let runner = Task { await engine.run() }
        func tearDown() async {
            server.resume()
            runner.cancel()
            await backend.store.close()
            await backend.shutdown()
            await offThePool { server.stop() }
            loops.shutdown()
        }
        do {
            let name = try LockName(uniqueLockName())
            let seen = Mutex<[LockEvent]>([])
            await engine.watchEvents(engine.events.makeWatchID(), prefix: name.value, within: .all, sink: { delivery in
                seen.withLock { $0.append(delivery.event) }
                return true
            })
            let grant = try await retrying(within: .seconds(10)) {
                try await engine.acquireByWaiting(AcquireRequest(name: name, ttlMs: 60_000, waitMs: 1_000, owner: "gone"))
            }
            let fence = grant.lease.fence
            let told = await eventually { seen.withLock { $0.contains { $0.kind == .acquired && $0.fence == fence } } }
            #expect(told)

            server.pause()
            engine.giveBackUndelivered(grant)
            // (Read from the log: the upkeep takes the give-back off its list while it tries it.)
            let deferred = await eventually(within: .seconds(15)) { logs.all.contains { $0.contains("could not give back a grant") } }
            server.resume()
            try #require(deferred, "the give-back was not deferred to the upkeep")

            let free = await eventually(within: .seconds(15)) { (try? await backend.store.status(of: name).isHeld) == false }
            #expect(free, "the upkeep did not give the lease back")
            let ended = await eventually(within: .seconds(5)) {
                seen.withLock { $0.contains { $0.fence == fence && $0.kind != .acquired && $0.kind != .renewed } }
            }
            #expect(ended, "watchers heard \(seen.withLock { $0.map(\.kind) }) for a lease the upkeep gave back")
            let kinds = seen.withLock { $0.filter { $0.fence == fence }.map(\.kind) }
            #expect(kinds == [.acquired, .released], "\(kinds)")
            #expect(engine.metrics.leases.count == 0, "lockd_locks_held still counts the lease the upkeep gave back")
            await tearDown()
        } catch {
            await tearDown()
            throw error
        }
    }
}
