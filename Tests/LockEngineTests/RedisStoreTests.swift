import LockEngine
import LockdRedis
import LockdTestSupport
import LockdTransport
import Logging
import Testing

/// What only a shared store can show: several lockd instances acting as
/// one, and fences surviving a Redis that lost its data.
@Suite struct RedisStoreTests {
    /// Two engines (two lockd instances) on one Redis.
    struct Cluster {
        let server: RedisServerFixture
        let loops: EventLoopGroup
        let clients: [RedisClient]
        let engines: [LockEngine]
        let runners: [Task<Void, Never>]

        static func start(instances: Int = 2, server existing: RedisServerFixture? = nil) async throws -> Cluster {
            let server: RedisServerFixture
            if let existing {
                server = existing
            } else {
                server = try await offThePool { try RedisServerFixture.start() }
            }
            let loops = try EventLoopGroup(loopCount: 1, namePrefix: "redis-store-test")
            var clients: [RedisClient] = []
            var engines: [LockEngine] = []
            var runners: [Task<Void, Never>] = []
            for index in 0..<instances {
                let logger = Logger(label: "instance-\(index)")
                let client = RedisClient(configuration: try RedisConfiguration(url: server.url), eventLoopGroup: loops, logger: logger)
                let engine = LockEngine(store: RedisLockStore(client: client, logger: logger), loops: loops, logger: logger)
                clients.append(client)
                engines.append(engine)
                runners.append(Task { await engine.run() })
            }
            try await Task.sleep(for: .milliseconds(100))
            return Cluster(server: server, loops: loops, clients: clients, engines: engines, runners: runners)
        }

        func stop(keepServer: Bool = false) async {
            for runner in runners { runner.cancel() }
            for runner in runners { await runner.value }
            for client in clients { await client.shutdown() }
            loops.shutdown()
            if !keepServer { await offThePool { server.stop() } }
        }
    }

    @Test func twoInstancesOnOneRedisActAsOne() async throws {
        let cluster = try await Cluster.start()
        let name = try LockName(uniqueLockName())
        let grant = try await cluster.engines[0].acquire(AcquireRequest(name: name, ttlMs: 5_000))
        await #expect(throws: LockError.self) {
            try await cluster.engines[1].acquire(AcquireRequest(name: name, ttlMs: 5_000))
        }
        #expect(try await cluster.engines[1].status(of: name).holders.first?.fence == grant.lease.fence)
        try await cluster.engines[1].release(name, token: grant.lease.token)
        let second = try await cluster.engines[1].acquire(AcquireRequest(name: name, ttlMs: 5_000))
        #expect(second.lease.fence > grant.lease.fence)
        await cluster.stop()
    }

    @Test func waitersOnTwoInstancesAreServedInArrivalOrder() async throws {
        let cluster = try await Cluster.start()
        let name = try LockName(uniqueLockName())
        var current = try await cluster.engines[0].acquire(AcquireRequest(name: name, ttlMs: 30_000))
        var tasks: [Task<AcquireGrant, any Error>] = []
        for index in 0..<6 {
            let engine = cluster.engines[index % 2]
            tasks.append(Task { try await engine.acquire(AcquireRequest(name: name, ttlMs: 30_000, waitMs: 20_000, owner: "\(index)")) })
            try await Task.sleep(for: .milliseconds(50))
        }
        for index in 0..<6 {
            try await cluster.engines[index % 2].release(name, token: current.lease.token)
            current = try await tasks[index].value
            #expect(current.lease.owner == "\(index)")
        }
        await cluster.stop()
    }

    @Test func aWaiterWhoseInstanceDiedHoldsUpTheQueueOnlyBriefly() async throws {
        let server = try await offThePool { try RedisServerFixture.start() }
        let survivor = try await Cluster.start(instances: 1, server: server)
        let doomed = try await Cluster.start(instances: 1, server: server)
        let name = try LockName(uniqueLockName())
        let holder = try await survivor.engines[0].acquire(AcquireRequest(name: name, ttlMs: 30_000))
        // The doomed instance queues first, then dies without leaving the queue.
        let orphan = Task { try await doomed.engines[0].acquire(AcquireRequest(name: name, ttlMs: 30_000, waitMs: 30_000)) }
        try await Task.sleep(for: .milliseconds(100))
        for runner in doomed.runners { runner.cancel() }
        await doomed.clients[0].shutdown()
        let waiting = Task { try await survivor.engines[0].acquire(AcquireRequest(name: name, ttlMs: 30_000, waitMs: 20_000, owner: "survivor")) }
        try await Task.sleep(for: .milliseconds(100))
        try await survivor.engines[0].release(name, token: holder.lease.token)
        let started = MonotonicClock.now()
        let grant = try await waiting.value
        let waitedMs = (MonotonicClock.now() - started) / 1_000_000
        #expect(grant.lease.owner == "survivor")
        // Three missed one-second heartbeats, plus one beat to notice.
        #expect(waitedMs < 6_000)
        orphan.cancel()
        _ = try? await orphan.value
        await doomed.stop(keepServer: true)
        await survivor.stop()
    }

    @Test func oneHeartbeatReachesWaitersOnThousandsOfNames() async throws {
        let server = try await offThePool { try RedisServerFixture.start() }
        let loops = try EventLoopGroup(loopCount: 1, namePrefix: "redis-store-test")
        let client = RedisClient(configuration: try RedisConfiguration(url: server.url), eventLoopGroup: loops, logger: Logger(label: "test"))
        let store = RedisLockStore(client: client, logger: Logger(label: "test"))
        // More names than one heartbeat pipeline carries.
        let base = try LockName(uniqueLockName())
        let names = try (0..<1_200).map { try LockName("\(base.value):\($0)") }
        var waiters: [LockName: [WaiterID]] = [:]
        for name in names {
            _ = try await store.acquire(AcquireAttempt(name: name, token: .random(), ttlMs: 30_000, owner: nil, waiter: nil))
            let waiter = WaiterID.random()
            let queued = try await store.acquire(AcquireAttempt(name: name, token: .random(), ttlMs: 30_000, owner: nil, waiter: waiter))
            guard case .held = queued else { Issue.record("the second acquire waits"); break }
            waiters[name] = [waiter]
        }
        func aliveUntil() async throws -> [Double] {
            try await client.pipeline(names.map { ["ZSCORE", .string("lockd:{\($0.value)}:alive"), .string(waiters[$0]?.first?.value ?? "")] })
                .map { try $0.get().double ?? 0 }
        }
        let before = try await aliveUntil()
        #expect(before.allSatisfy { $0 > 0 })
        try await Task.sleep(for: .milliseconds(20))
        try await store.heartbeat(waiters)
        let after = try await aliveUntil()
        #expect(zip(before, after).allSatisfy { $0 < $1 })
        await client.shutdown()
        loops.shutdown()
        await offThePool { server.stop() }
    }

    @Test func fencesKeepGrowingWhenRedisRestartsWithoutPersistence() async throws {
        let server = try await offThePool { try RedisServerFixture.start() }
        let before = try await Cluster.start(instances: 1, server: server)
        let name = try LockName(uniqueLockName())
        var last: Int64 = 0
        for _ in 0..<50 {
            let grant = try await before.engines[0].acquire(AcquireRequest(name: name, ttlMs: 5_000))
            last = grant.lease.fence
            try await before.engines[0].release(name, token: grant.lease.token)
        }
        await before.stop(keepServer: true)
        try await offThePool { try server.restart() }
        let after = try await Cluster.start(instances: 1, server: server)
        let grant = try await after.engines[0].acquire(AcquireRequest(name: name, ttlMs: 5_000))
        #expect(grant.lease.fence > last)
        #expect(grant.lease.fence < 1 << 53)
        await after.stop()
    }
}
