@testable import LockEngine
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

        static func start(
            instances: Int = 2, server existing: RedisServerFixture? = nil, livenessKeys: RedisLivenessKeys = .shared,
            configuration: LockEngineConfiguration = .init()
        ) async throws -> Cluster {
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
            var instanceChannels: [String] = []
            for index in 0..<instances {
                let logger = Logger(label: "instance-\(index)")
                let client = RedisClient(configuration: try RedisConfiguration(url: server.url), eventLoopGroup: loops, logger: logger)
                let store = RedisLockStore(client: client, livenessKeys: livenessKeys, logger: logger)
                let engine = LockEngine(store: store, configuration: configuration, loops: loops, logger: logger)
                clients.append(client)
                engines.append(engine)
                instanceChannels.append("\(RedisLockScripts.wakeupChannel):\(store.instanceID)")
                runners.append(Task { await engine.run() })
            }
            // Each engine hears wake-ups once it subscribed its instance's channel.
            let (port, channels) = (server.port, instanceChannels)
            let subscribed = await eventually(within: .seconds(30)) {
                await offThePool {
                    let counts = (try? RedisAdminClient(port: port).call(["PUBSUB", "NUMSUB"] + channels))?.array ?? []
                    return counts.count == 2 * instances && stride(from: 1, to: counts.count, by: 2).allSatisfy { counts[$0].int == 1 }
                }
            }
            if !subscribed { throw TestFailure("the engines did not subscribe to their wake-up channels within 30 s") }
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
            try await engine.untilQueued(index + 1, on: name)
        }
        for index in 0..<6 {
            try await cluster.engines[index % 2].release(name, token: current.lease.token)
            current = try await tasks[index].value
            #expect(current.lease.owner == "\(index)")
        }
        await cluster.stop()
    }

    @Test(arguments: [RedisLivenessKeys.shared, .perSlot])
    func aWaiterWhoseInstanceDiedHoldsUpTheQueueOnlyBriefly(livenessKeys: RedisLivenessKeys) async throws {
        let server = try await offThePool { try RedisServerFixture.start() }
        let survivor = try await Cluster.start(instances: 1, server: server, livenessKeys: livenessKeys)
        let doomed = try await Cluster.start(instances: 1, server: server, livenessKeys: livenessKeys)
        let name = try LockName(uniqueLockName())
        let holder = try await survivor.engines[0].acquire(AcquireRequest(name: name, ttlMs: 30_000))
        // The doomed instance queues first, then dies without leaving the queue.
        let orphan = Task { try await doomed.engines[0].acquire(AcquireRequest(name: name, ttlMs: 30_000, waitMs: 30_000)) }
        let firstQueued = await eventually { await queued(name, client: survivor.clients[0]) == 1 }
        #expect(firstQueued)
        for runner in doomed.runners { runner.cancel() }
        await doomed.clients[0].shutdown()
        let waiting = Task { try await survivor.engines[0].acquire(AcquireRequest(name: name, ttlMs: 30_000, waitMs: 20_000, owner: "survivor")) }
        let secondQueued = await eventually { await queued(name, client: survivor.clients[0]) == 2 }
        #expect(secondQueued)
        // Released while the dead instance still counts as alive: the
        // survivor must notice by itself when that ends.
        try await survivor.engines[0].release(name, token: holder.lease.token)
        let started = MonotonicClock.now()
        let grant = try await waiting.value
        let waitedMs = (MonotonicClock.now() - started) / 1_000_000
        #expect(grant.lease.owner == "survivor")
        // The liveness window (600 ms), with room for a busy machine.
        #expect(waitedMs < 2_000)
        orphan.cancel()
        _ = try? await orphan.value
        await doomed.stop(keepServer: true)
        await survivor.stop()
    }

    @Test func oneReconcilePutsBackWaitersOnThousandsOfNames() async throws {
        let server = try await offThePool { try RedisServerFixture.start() }
        let loops = try EventLoopGroup(loopCount: 1, namePrefix: "redis-store-test")
        var configuration = try RedisConfiguration(url: server.url)
        // Thousands of calls in a few pipelines: a busy machine must not time them out.
        configuration.commandTimeout = .seconds(10)
        let client = RedisClient(configuration: configuration, eventLoopGroup: loops, logger: Logger(label: "test"))
        let store = RedisLockStore(client: client, logger: Logger(label: "test"))
        // More names than one pipeline carries.
        let base = try LockName(uniqueLockName())
        let names = try (0..<1_200).map { try LockName("\(base.value):\($0)") }
        var queues: [LocalQueue] = []
        for name in names {
            _ = try await store.acquire(AcquireAttempt(name: name, token: .random(), ttlMs: 30_000, owner: nil, waiter: nil))
            let waiters = [WaiterID.random(), WaiterID.random()]
            for waiter in waiters {
                let queued = try await store.acquire(AcquireAttempt(name: name, token: .random(), ttlMs: 30_000, owner: nil, waiter: waiter, waitMs: 30_000))
                guard case .held = queued else { Issue.record("a second acquire waits"); break }
            }
            queues.append(LocalQueue(name: name, waiters: waiters, waitMs: 30_000))
        }
        #expect(try await store.beat(names: Set(names)))
        #expect(try await store.reconcile(queues).allSatisfy { $0.restored == 0 })

        // Redis loses the queues and this instance's liveness, as in a restart.
        _ = try await client.pipeline(names.map { ["DEL", .string("lockd:{\($0.value)}:waiters")] } + [["DEL", "lockd:instances"]])
        #expect(try await store.beat(names: Set(names)) == false)
        let repairs = try await store.reconcile(queues)
        #expect(repairs.count == names.count)
        #expect(repairs.allSatisfy { $0.restored == 2 && ($0.hint.recheckAfterMs ?? 0) > 0 })
        let members = try await client.pipeline(names.map { ["ZRANGE", .string("lockd:{\($0.value)}:waiters"), "0", "-1"] })
            .map { try $0.get().array?.compactMap { $0.string.map { String($0.split(separator: ":").last ?? "") } } ?? [] }
        #expect(members == queues.map { $0.waiters.map(\.value) })
        #expect(try await store.beat(names: Set(names)))
        await client.shutdown()
        loops.shutdown()
        await offThePool { server.stop() }
    }

    /// How many waiters the store holds for `name`.
    private func queued(_ name: LockName, client: RedisClient) async -> Int {
        (try? await client.send(["ZCARD", .string("lockd:{\(name.value)}:waiters")]).int) ?? -1
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

    /// A replica promoted before it had the latest fence counter holds a
    /// stale one: writing an old value into the counter (as such a replica
    /// would have it) must not bring back a fence — for locks, semaphores
    /// and readers alike, which all draw on the one counter.
    @Test(arguments: [(limit: 1, mode: LockMode.exclusive), (limit: 3, mode: .exclusive), (limit: 1, mode: .shared)])
    func fencesStayAboveEveryEarlierOneWhenTheCounterIsStale(shape: (limit: Int, mode: LockMode)) async throws {
        let cluster = try await Cluster.start(instances: 1)
        let engine = cluster.engines[0]
        let name = try LockName(uniqueLockName())
        var fences: [Int64] = []
        for _ in 0..<5 {
            let grant = try await engine.acquire(AcquireRequest(name: name, ttlMs: 5_000, limit: shape.limit, mode: shape.mode))
            fences.append(grant.lease.fence)
            try await engine.release(name, token: grant.lease.token)
        }
        #expect(fences == fences.sorted() && Set(fences).count == fences.count)
        let stale = try #require(fences.first) - 1
        _ = try await cluster.clients[0].send(["SET", .string("lockd:{\(name.value)}:fence"), .string(String(stale))])
        let grant = try await engine.acquire(AcquireRequest(name: name, ttlMs: 5_000, limit: shape.limit, mode: shape.mode))
        #expect(grant.lease.fence > fences.max() ?? .max, "fence \(grant.lease.fence) after \(fences) from a stale counter")
        #expect(grant.lease.fence < 1 << 53)
        await cluster.stop()
    }
}
