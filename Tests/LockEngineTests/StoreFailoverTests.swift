import LockdRedis
import LockdTestSupport
import LockdTransport
import LockEngine
import Logging
import Testing

/// A lock engine over a Redis that fails over, built as lockd builds it from
/// a `redis+sentinel://` or `redis+cluster://` URL: while no master serves a
/// name the engine answers `unavailable` (503) at once, and it serves again
/// within 5 s of the promotion, a listing cursor included, and its fences
/// keep growing even when the promoted replica's counter is stale.
@Suite(.serialized) struct StoreFailoverTests {
    @Test func aSentinelEngineServesAgainAfterTheMasterIsKilled() async throws {
        try await RedisSentinelFixture.with { sentinel in try await Self.withEngine(url: sentinel.url) { engine, client in
            let name = try LockName(uniqueLockName())
            let before = try await engine.acquire(AcquireRequest(name: name, ttlMs: 60_000))
            try await engine.release(name, token: before.lease.token)

            let old = try await offThePool { try sentinel.killMaster() }
            // No master: a clear 503 soon, not a hang.
            let started = ContinuousClock.now
            await Self.expectUnavailable { () throws(LockError) in _ = try await engine.acquire(AcquireRequest(name: name, ttlMs: 60_000)) }
            #expect(ContinuousClock.now - started < .seconds(3))
            await #expect(throws: LockError.self) { try await engine.checkReady() }

            let promoted = try await offThePool { try sentinel.waitForPromotion(replacing: old) }
            // The promoted replica's counter as if it had missed the last
            // grants: its fences must still exceed every one before.
            let stale = await offThePool {
                RedisAdminClient.call(port: promoted.port, "SET", "lockd:{\(name.value)}:fence", String(before.lease.fence - 1000))
            }
            #expect(stale?.string == "OK")
            let lease = try await retrying(within: .seconds(10)) { try await engine.acquire(AcquireRequest(name: name, ttlMs: 60_000)) }
            let recovery = ContinuousClock.now - promoted.at
            #expect(recovery < .seconds(5), "served again \(recovery) after the promotion")
            #expect(lease.lease.fence > before.lease.fence)
            try await engine.release(name, token: lease.lease.token)
            try await retrying(within: .seconds(5)) { try await engine.checkReady() }
            #expect(client.topologyStatistics.primaryChanges >= 1)
        } }
    }

    @Test func aClusterEngineServesAgainAfterAMasterIsKilledAndItsListingCursorHolds() async throws {
        let cluster = try await offThePool { try RedisClusterFixture.shared() }
        try await offThePool { try cluster.waitUntilHealthy(within: .seconds(30)) }
        try await Self.withEngine(url: cluster.url) { engine, client in
            try await retrying(within: .seconds(10)) { try await engine.checkReady() }
            let shards = try client.shards()
            let victim = shards[0].primary.port
            // Names on every master, two on the victim's shard (the first one
            // a listing walks), held across the failover.
            let prefix = uniqueLockName()
            var names: [LockName] = []
            var onVictim: [LockName] = []
            for index in 0..<400 where names.count < 6 {
                let name = try LockName("\(prefix)-\(index)")
                let port = try #require(await offThePool { cluster.masterPort(forSlot: RedisHashSlot(key: name.value)) })
                guard port == victim ? onVictim.count < 2 : names.count - onVictim.count < 4 else { continue }
                if port == victim { onVictim.append(name) }
                names.append(name)
                _ = try await engine.acquire(AcquireRequest(name: name, ttlMs: 60_000))
            }
            #expect(onVictim.count == 2)
            let first = try await engine.list(prefix: prefix, limit: 1, cursor: nil)
            let cursor = try #require(first.nextCursor)

            let replica = try await offThePool { try cluster.replicaPort(of: victim) }
            // The replica has the leases before its master dies.
            try await offThePool { try cluster.waitUntilReplicated(master: victim, to: replica) }
            await offThePool { cluster.node(port: victim)?.kill() }
            do {
                await Self.expectUnavailable { () throws(LockError) in _ = try await engine.status(of: onVictim[0]) }
                // Not ready while the victim's slots have no master (/readyz 503).
                await Self.expectUnavailable { () throws(LockError) in try await engine.checkReady() }
                let promoted = try await offThePool { try cluster.waitForPromotion(of: replica) }
                _ = try await retrying(within: .seconds(10)) { try await engine.status(of: onVictim[0]) }
                let recovery = ContinuousClock.now - promoted
                #expect(recovery < .seconds(5), "served again \(recovery) after the promotion")

                // The cursor written before the failover leads on to the promoted replica.
                var listed = first.locks.map(\.name)
                var next: String? = cursor
                var pages = 0
                while let position = next, pages < 20 {
                    let page = try await retrying(within: .seconds(5)) { try await engine.list(prefix: prefix, limit: 1, cursor: position) }
                    listed += page.locks.map(\.name)
                    next = page.nextCursor
                    pages += 1
                }
                #expect(Set(listed) == Set(names))
                #expect(listed.count == names.count)
                #expect(client.topologyStatistics.primaryChanges >= 1)
            } catch {
                try? await offThePool { try cluster.restart(port: victim) }
                throw error
            }
            try await offThePool { try cluster.restart(port: victim) }
        }
    }

    /// Expects `call` to fail with `unavailable` (lockd's 503), not succeed or fail otherwise.
    private static func expectUnavailable(_ call: () async throws(LockError) -> Void, sourceLocation: SourceLocation = #_sourceLocation) async {
        do throws(LockError) {
            try await call()
            Issue.record("served with no master", sourceLocation: sourceLocation)
        } catch {
            guard case .unavailable = error else {
                Issue.record("\(error) instead of unavailable", sourceLocation: sourceLocation)
                return
            }
        }
    }

    /// Runs `body` with an engine (and its Redis client) over `url`, then stops both.
    private static func withEngine(url: String, _ body: (LockEngine, RedisClient) async throws -> Void) async throws {
        let loops = try EventLoopGroup(loopCount: 1, namePrefix: "store-failover")
        defer { loops.shutdown() }
        let logger = Logger(label: "test")
        let backend = try RedisLockBackend(configuration: try RedisConfiguration(url: url), loops: loops, logger: logger)
        let engine = LockEngine(store: backend.store, loops: loops, upkeepLoop: backend.upkeepLoop, logger: logger)
        let runner = Task { await engine.run() }
        do {
            try await retrying(within: .seconds(10)) { try await engine.checkReady() }
            try await body(engine, backend.client)
        } catch {
            runner.cancel()
            await runner.value
            await backend.shutdown()
            throw error
        }
        runner.cancel()
        await runner.value
        await backend.shutdown()
    }
}
