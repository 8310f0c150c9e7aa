import LockEngine
import LockdRedis
import LockdTransport
import Logging
import LockdTestSupport
import RESP
import Testing

/// review2 (session 11), on wip-cpuredis: what running the lock scripts as
/// functions (FCALL) changes beside their cost, on a real redis-server.
@Suite struct RedisFunctionsReviewTests {
    /// Redis at its memory limit (`noeviction`) refuses what adds data. A
    /// script run by EVALSHA (no shebang, no flags) is refused a command
    /// only when it calls one that adds data; a function without the
    /// `no-writes` or `allow-oom` flag is refused before it runs. A release
    /// (and a waiter leaving) only deletes — it frees the lock, and memory —
    /// so it must still go through: else every lock stays held to its TTL
    /// while Redis is full, and nothing can free memory through lockd.
    @Test func aReleaseWhileRedisIsOutOfMemoryStillFreesTheLock() async throws {
        let cluster = try await RedisStoreTests.Cluster.start(instances: 1)
        let admin = cluster.clients[0]
        let engine = cluster.engines[0]
        let name = try LockName(uniqueLockName())
        let grant = try await engine.acquire(AcquireRequest(name: name, ttlMs: 60_000))
        _ = try await admin.send(["CONFIG", "SET", "maxmemory-policy", "noeviction"])
        _ = try await admin.send(["CONFIG", "SET", "maxmemory", "1"])  // over the limit from now on
        var failure: (any Error)?
        do {
            try await engine.release(name, token: grant.lease.token)
        } catch {
            failure = error
        }
        _ = try await admin.send(["CONFIG", "SET", "maxmemory", "0"])
        #expect(failure == nil, "the release was refused: \(String(describing: failure))")
        #expect(try await engine.status(of: name).holders.isEmpty)
        await cluster.stop()
    }

    /// On a Redis without functions (before 7.0) the first FCALL is answered
    /// "ERR unknown command 'FCALL', with args beginning with: …", which
    /// echoes the call's first 128 characters of arguments — for a renewal
    /// of a short name, the lease's token — and that message is logged as
    /// the reason for going by EVALSHA. Tokens are secrets: never in logs.
    /// (A lockd restarting while clients hold leases: their renewals are its
    /// first script calls.)
    @Test func aRedisWithoutFunctionsNeverGetsALeaseTokenIntoTheLog() async throws {
        let server = try await offThePool { try RedisServerFixture.start(arguments: ["--rename-command", "FCALL", ""]) }
        let first = try await RedisStoreTests.Cluster.start(instances: 1, server: server)
        let name = try LockName("r2")
        let grant = try await first.engines[0].acquire(AcquireRequest(name: name, ttlMs: 60_000))
        let logs = CapturedLogs()
        let logger = Logger(label: "restarted") { _ in CapturingLogHandler(logs: logs) }
        let loops = try EventLoopGroup(loopCount: 1, namePrefix: "review2-restarted")
        let client = RedisClient(configuration: try RedisConfiguration(url: server.url), eventLoopGroup: loops, logger: logger)
        let store = RedisLockStore(client: client, logger: logger)
        let renewed = try await store.renew(name, token: grant.lease.token, ttlMs: nil, durability: .primary)
        #expect(renewed?.fence == grant.lease.fence)
        let token = grant.lease.token.value
        let leaking = logs.all.filter { $0.contains(token) }
        #expect(leaking.isEmpty, "the lease token is in the log: \(leaking)")
        await client.shutdown()
        loops.shutdown()
        await first.stop()
    }

    /// After a node loses the library (a restart without persistence, a
    /// failover to a node that never had it, `FUNCTION FLUSH`) every call in
    /// flight meets "Function not found" and loads the library itself:
    /// `FUNCTION LOAD REPLACE` compiles all of it again each time (~0.4 ms of
    /// Redis here, where a repeated `EVAL` after `-NOSCRIPT` finds the
    /// script cached), so a thousand calls in flight would hold Redis for
    /// longer than lockd's 500 ms command timeout. One load per node (the
    /// other calls waiting for it, or going by EVALSHA meanwhile) is enough.
    @Test func callsInFlightWhenTheLibraryIsLostLoadItOnceNotOnceEach() async throws {
        let cluster = try await RedisStoreTests.Cluster.start(instances: 1)
        let admin = cluster.clients[0]
        let engine = cluster.engines[0]
        _ = try await engine.acquire(AcquireRequest(name: try LockName(uniqueLockName()), ttlMs: 60_000))
        _ = try await admin.send(["FUNCTION", "FLUSH"])
        _ = try await admin.send(["CONFIG", "RESETSTAT"])
        // Redis holds the calls for a moment (as while it restarts): all 200 are in flight at once.
        _ = try await admin.send(["CLIENT", "PAUSE", "300", "ALL"])
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<200 {
                group.addTask { _ = try await engine.acquire(AcquireRequest(name: try LockName(uniqueLockName()), ttlMs: 60_000)) }
            }
            try await group.waitForAll()
        }
        let info = try await admin.send(["INFO", "commandstats"]).string ?? ""
        let loads = info.split(whereSeparator: \.isNewline).first { $0.hasPrefix("cmdstat_function|load:") }
            .flatMap { $0.firstMatch(of: /calls=(\d+)/).flatMap { Int($0.1) } } ?? 0
        #expect(loads >= 1 && loads <= 2, "200 calls in flight loaded the library \(loads) times")
        await cluster.stop()
    }
}
