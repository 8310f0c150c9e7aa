import LockEngine
import LockdRedis
import LockdTestSupport
import Logging
import RESP
import Testing

/// The lock scripts as functions of one library (Redis 7 and later), and by
/// EVALSHA where Redis has none, on a real redis-server.
@Suite struct RedisFunctionStoreTests {
    /// A lock, a conflict, a waiter handed the name by a release: what
    /// every script path of a cycle takes.
    static func exercise(_ cluster: RedisStoreTests.Cluster) async throws {
        let name = try LockName(uniqueLockName())
        let first = try await cluster.engines[0].acquire(AcquireRequest(name: name, ttlMs: 30_000))
        await #expect(throws: LockError.self) { try await cluster.engines[1].acquire(AcquireRequest(name: name, ttlMs: 30_000)) }
        let waiter = Task { [engine = cluster.engines[1]] in try await engine.acquire(AcquireRequest(name: name, ttlMs: 30_000, waitMs: 20_000)) }
        let queued = try await eventually { try await cluster.engines[0].status(of: name).waiting == 1 }
        #expect(queued)
        try await cluster.engines[0].release(name, token: first.lease.token)
        let second = try await waiter.value
        #expect(second.lease.fence > first.lease.fence)
        try await cluster.engines[1].release(name, token: second.lease.token)
        #expect(try await cluster.engines[0].status(of: name).holders.isEmpty)
        // A give-back names its grant's fence or its attempt's nonce, in either layout.
        let store = RedisLockStore(client: cluster.clients[0], logger: Logger(label: "give-back"))
        for limit in [1, 3] {
            try await GiveBackTests.onlyTheNamedGrantEnds(store, limit: limit)
            try await GiveBackTests.onlyTheAttemptsGrantEnds(store, limit: limit)
        }
    }

    static func calls(_ client: RedisClient) async throws -> String {
        try await client.send(["INFO", "commandstats"]).string ?? ""
    }

    static func libraries(_ client: RedisClient) async throws -> Int {
        try await client.send(["FUNCTION", "LIST", "LIBRARYNAME", "lockd_*"]).array?.count ?? 0
    }

    @Test func theScriptsRunAsFunctionsAndOutliveALostLibrary() async throws {
        let cluster = try await RedisStoreTests.Cluster.start()
        let admin = cluster.clients[0]
        try await Self.exercise(cluster)
        #expect(try await Self.libraries(admin) == 1)
        #expect(try await Self.calls(admin).contains("cmdstat_fcall:"))
        // Lost (as by a restart without persistence): loaded again on the next call.
        _ = try await admin.send(["FUNCTION", "FLUSH"])
        _ = try await admin.send(["CONFIG", "RESETSTAT"])
        try await Self.exercise(cluster)
        #expect(try await Self.libraries(admin) == 1)
        let calls = try await Self.calls(admin)
        #expect(calls.contains("cmdstat_fcall:") && calls.contains("cmdstat_function|load:"), "\(calls)")
        await cluster.stop()
    }

    @Test func theScriptsRunByEvalshaWhereRedisHasNoFunctions() async throws {
        let server = try await offThePool { try RedisServerFixture.start(arguments: ["--rename-command", "FCALL", ""]) }
        let cluster = try await RedisStoreTests.Cluster.start(server: server)
        try await Self.exercise(cluster)
        let calls = try await Self.calls(cluster.clients[0])
        #expect(calls.contains("cmdstat_evalsha:") && !calls.contains("cmdstat_fcall:"), "\(calls)")
        await cluster.stop()
    }
}
