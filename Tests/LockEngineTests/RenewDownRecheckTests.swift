import LockdRedis
import LockdTestSupport
import LockEngine
import Logging
import Testing

/// A renewal down announces when the queue looks again at the renewed
/// lease's new end; waiters told to look again sooner — at when a woken
/// head's lockd counts as gone — must keep that earlier time, or a slot
/// that head leaves free stays free until the renewed lease ends.
///
/// Redis only: a woken head whose lockd died is another instance's waiter,
/// and the in-memory store serves one process, whose waiters it wakes
/// again whenever a renewal down is announced.
@Suite struct RenewDownRecheckTests {
    @Test func aRenewalDownKeepsTheEarlierLookAtAWokenHeadWhoseLockdDied() async throws {
        var configuration = LockEngineConfiguration()
        // The periodic queue check must not be what grants the waiter.
        configuration.queueCheckInterval = .seconds(120)
        let cluster = try await RedisStoreTests.Cluster.start(instances: 1, configuration: configuration)
        let engine = cluster.engines[0]
        // The other instance: it queues a waiter, then never beats again.
        let deadClient = RedisClient(configuration: try RedisConfiguration(url: cluster.server.url), eventLoopGroup: cluster.loops,
                                     logger: Logger(label: "dead"))
        let dead = RedisLockStore(client: deadClient, logger: Logger(label: "dead"))
        let name = try LockName(uniqueLockName())
        let kept = try await engine.acquire(AcquireRequest(name: name, ttlMs: 60_000, token: .random(), limit: 2))
        let released = try await engine.acquire(AcquireRequest(name: name, ttlMs: 60_000, token: .random(), limit: 2))
        let head = AcquireAttempt(name: name, token: .random(), ttlMs: 30_000, owner: "dead", waiter: .random(limit: 2),
                                  waitMs: 30_000, limit: 2)
        guard case .held = try await dead.acquire(head) else { throw LockError.leaseLost }
        let waiter = Task { try await engine.acquire(AcquireRequest(name: name, ttlMs: 30_000, waitMs: 60_000, owner: "waiter", limit: 2)) }
        defer { waiter.cancel() }
        let queued = try await eventually { try await engine.status(of: name).waiting == 2 }
        #expect(queued)
        // The dead instance beat last more than the fresh-beat window ago: a
        // release wakes its head rather than granting it, and the waiters
        // behind are told to look again when it counts as gone (~300 ms).
        let time = try await cluster.clients[0].send(["TIME"]).array ?? []
        let nowMs = (time.first?.string.flatMap { Int64($0) } ?? 0) * 1_000 + (time.last?.string.flatMap { Int64($0) } ?? 0) / 1_000
        let members = try await cluster.clients[0].send(["ZRANGE", .string("lockd:{\(name.value)}:waiters"), "0", "0"]).array ?? []
        let instance = try #require(members.first?.string.map { String($0.prefix(16)) })
        _ = try await cluster.clients[0].send(["ZADD", "lockd:instances", .string("\(nowMs + 300)"), .string(instance)])
        try await engine.release(name, token: released.lease.token)
        // The other slot's lease is renewed down, yet to end long after that.
        _ = try await engine.renew(name, token: kept.lease.token, ttlMs: 30_000)
        let granted = try await eventually(within: .seconds(10)) {
            try await engine.status(of: name).holders.contains { $0.owner == "waiter" }
        }
        #expect(granted, "the waiter looked again only when the renewed lease ends, not when the woken head's lockd counted as gone")
        await deadClient.shutdown()
        await cluster.stop()
    }
}
