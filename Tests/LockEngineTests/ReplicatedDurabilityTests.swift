import LockdRedis
import LockdTestSupport
import LockdTransport
import LockEngine
import Logging
import Testing

/// `durability: replicated`: a grant is answered only once a replica has
/// it (Redis `WAIT`); with the replica frozen (SIGSTOP) it is undone and
/// answered `unavailable`, and a renewal is refused the same way.
@Suite(.serialized) struct ReplicatedDurabilityTests {
    @Test func aGrantWaitsForTheReplicaAndIsUndoneWithoutIt() async throws {
        let master = try await offThePool { try RedisServerFixture.start() }
        let replica = try await offThePool { try master.startReplica() }
        defer {
            replica.resume()
            replica.stop()
            master.stop()
        }
        // A live replica acknowledges at once on a quiet machine, but a busy
        // one can hold up either server past a short timeout: the grants that
        // must be kept wait up to 10 s for it.
        let (kept, grant) = try await Self.withEngine(on: master, replicationTimeout: .seconds(10)) { engine in
            // A live replica: granted, and the replica has the lease.
            let kept = try LockName(uniqueLockName())
            let grant = try await engine.acquire(AcquireRequest(name: kept, ttlMs: 30_000, durability: .replicated))
            let onReplica = await offThePool { RedisAdminClient.call(port: replica.port, "HGET", "lockd:{\(kept.value)}:lease", "fence")?.string }
            #expect(onReplica == String(grant.lease.fence))
            let semaphore = try LockName(uniqueLockName())
            _ = try await engine.acquire(AcquireRequest(name: semaphore, ttlMs: 30_000, limit: 3, durability: .replicated))
            _ = try await engine.renew(kept, token: grant.lease.token, ttlMs: 40_000, durability: .replicated)
            return (kept, grant)
        }

        // The replica frozen: no grant is kept, whatever the shape (a short
        // timeout, since each of these waits it out).
        try await Self.withEngine(on: master, replicationTimeout: .milliseconds(300)) { engine in
            replica.pause()
            for (limit, mode) in [(1, LockMode.exclusive), (3, .exclusive), (1, .shared)] {
                let name = try LockName(uniqueLockName())
                await #expect {
                    try await engine.acquire(AcquireRequest(name: name, ttlMs: 30_000, limit: limit, mode: mode, durability: .replicated))
                } throws: { error in
                    guard case LockError.unavailable(let detail) = error else { return false }
                    return detail.contains("could not be replicated")
                }
                #expect(try await engine.status(of: name).holders.isEmpty, "a lease was left on \(name)")
            }
            // … and a renewal is refused, the lease staying as it was.
            await #expect(throws: LockError.self) {
                try await engine.renew(kept, token: grant.lease.token, ttlMs: 50_000, durability: .replicated)
            }
            #expect(try await engine.status(of: kept).holders.map(\.fence) == [grant.lease.fence])
            // Durability primary is not held up by the frozen replica.
            let name = try LockName(uniqueLockName())
            _ = try await engine.acquire(AcquireRequest(name: name, ttlMs: 30_000))
            replica.resume()
        }
    }

    /// Runs `body` with a lock engine on `master` whose replicated grants
    /// wait up to `replicationTimeout` for a replica, and stops it after.
    private static func withEngine<Result: Sendable>(
        on master: RedisServerFixture, replicationTimeout: Duration, _ body: (LockEngine) async throws -> Result
    ) async throws -> Result {
        let loops = try EventLoopGroup(loopCount: 1, namePrefix: "replicated")
        defer { loops.shutdown() }
        let logger = Logger(label: "test")
        let backend = try RedisLockBackend(configuration: try RedisConfiguration(url: master.url), loops: loops,
                                           replicationTimeout: replicationTimeout, logger: logger)
        let engine = LockEngine(store: backend.store, loops: loops, upkeepLoop: backend.upkeepLoop, logger: logger)
        let runner = Task { await engine.run() }
        let stop = {
            runner.cancel()
            await runner.value
            await backend.shutdown()
        }
        do {
            try await retrying(within: .seconds(10)) { try await engine.checkReady() }
            let result = try await body(engine)
            await stop()
            return result
        } catch {
            await stop()
            throw error
        }
    }

    @Test func theInMemoryStoreRefusesReplicatedAsABadRequest() async throws {
        try await StoreKind.memory.withEngine { engine, _ in
            let name = try LockName(uniqueLockName())
            await #expect {
                try await engine.acquire(AcquireRequest(name: name, ttlMs: 30_000, durability: .replicated))
            } throws: { error in
                guard case LockError.invalidRequest(let detail) = error else { return false }
                return detail.contains("in memory")
            }
            let grant = try await engine.acquire(AcquireRequest(name: name, ttlMs: 30_000))
            await #expect(throws: LockError.self) { try await engine.renew(name, token: grant.lease.token, ttlMs: nil, durability: .replicated) }
        }
    }
}
