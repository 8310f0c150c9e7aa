import LockdRedis
import LockdTestSupport
import LockdTransport
import LockEngine
import Logging
import Synchronization
import Testing

/// Waiting on a real Redis Cluster (the shared 3 + 3 fixture), through
/// ``RedisLockBackend`` as lockd builds it from a `redis+cluster://` URL:
/// every script's keys, the liveness key included, lie in the name's slot.
@Suite(.serialized) struct ClusterWaitingTests {
    @Test func waitersOnEveryShardAreServedAcrossInstancesAndOutliveADeadOne() async throws {
        let cluster = try await offThePool { try RedisClusterFixture.shared() }
        let configuration = try RedisConfiguration(url: cluster.url)
        let loops = try EventLoopGroup(loopCount: 1, namePrefix: "cluster-waiting")
        defer { loops.shutdown() }
        let instances = try (0..<3).map { _ in try Instance(configuration: configuration, loops: loops) }
        defer { for instance in instances { instance.runner.cancel() } }
        let (holder, survivor, doomed) = (instances[0], instances[1], instances[2])
        try await retrying(within: .seconds(10)) { try await holder.engine.checkReady() }

        // One name per master: the slots differ, so the scripts would fail
        // with CROSSSLOT if a liveness key were not in the name's own slot.
        let masters = await offThePool { cluster.masterPorts() }
        var names: [UInt16: LockName] = [:]
        for index in 0..<200 where names.count < masters.count {
            let name = try LockName("\(uniqueLockName()):\(index)")
            if let port = await offThePool({ cluster.masterPort(forSlot: RedisHashSlot(key: name.value)) }), names[port] == nil {
                names[port] = name
            }
        }
        #expect(names.count == 3)

        for (port, name) in names {
            let lease = try await holder.engine.acquire(AcquireRequest(name: name, ttlMs: 30_000))
            let orphan = Task { try await doomed.engine.acquire(AcquireRequest(name: name, ttlMs: 30_000, waitMs: 20_000)) }
            #expect(await eventually { doomed.engine.waiterCount == 1 })
            let waiter = Task { try await survivor.engine.acquire(AcquireRequest(name: name, ttlMs: 30_000, waitMs: 20_000, owner: "survivor")) }
            #expect(await eventually { survivor.engine.waiterCount == 1 })
            let livenessKey = RedisLivenessKeys.perSlot.key(for: name)
            // Each instance beats a slot's key on its next beat after a waiter
            // arrives there: wait for both beats, asking whichever node is the
            // slot's master now (an earlier suite may have failed one over).
            var instancesAlive = 0
            let bothBeat = await eventually {
                instancesAlive = await offThePool {
                    let master = cluster.masterPort(forSlot: RedisHashSlot(key: name.value)) ?? port
                    return RedisAdminClient.call(port: master, "ZCARD", livenessKey)?.int ?? 0
                }
                return instancesAlive == 2
            }
            #expect(bothBeat, "\(livenessKey) on the master of \(name): \(instancesAlive) instances")

            // The doomed instance stops beating (as if killed) with its waiter
            // ahead in the queue: the survivor's waiter is served anyway.
            doomed.runner.cancel()
            let released = ContinuousClock.now
            try await holder.engine.release(name, token: lease.lease.token)
            let grant = try await waiter.value
            #expect(grant.lease.owner == "survivor")
            // Liveness window 600 ms, plus room for a busy machine.
            #expect(ContinuousClock.now - released < .seconds(3), "granted \(ContinuousClock.now - released) after the release")
            try await survivor.engine.release(name, token: grant.lease.token)
            orphan.cancel()
            _ = try? await orphan.value
            doomed.restart()
        }
        for instance in instances { await instance.stop() }
    }

    /// Wake-ups travel on one classic channel, subscribed on the master of
    /// its slot: after that master fails over, both instances listen on the
    /// promoted replica, and a waiter on one is woken by a release on the
    /// other.
    @Test func wakeUpsArriveAfterTheMasterOfTheirChannelFailedOver() async throws {
        let cluster = try await offThePool { try RedisClusterFixture.shared() }
        try await offThePool { try cluster.waitUntilHealthy(within: .seconds(30)) }
        let configuration = try RedisConfiguration(url: cluster.url)
        // A loop each, as two lockd processes would have.
        let loops = try (0..<2).map { _ in try EventLoopGroup(loopCount: 1, namePrefix: "cluster-wakeups") }
        defer { for group in loops { group.shutdown() } }
        let instances = try loops.map { try Instance(configuration: configuration, loops: $0) }
        defer { for instance in instances { instance.runner.cancel() } }
        let (holder, waiting) = (instances[0], instances[1])
        for instance in instances { try await retrying(within: .seconds(20)) { try await instance.engine.checkReady() } }

        let channel = "lockd:waiting"
        let victim = try #require(await offThePool { cluster.masterPort(forSlot: RedisHashSlot(key: channel)) })
        // A name on the same master: its scripts fail over with the channel.
        let prefix = uniqueLockName()
        let name = try LockName(try #require(await offThePool {
            (0..<400).map { "\(prefix):\($0)" }.first { cluster.masterPort(forSlot: RedisHashSlot(key: $0)) == victim }
        }))
        let replica = try await offThePool { try cluster.replicaPort(of: victim) }
        let listeners = { @Sendable (port: UInt16) in
            RedisAdminClient.call(port: port, "PUBSUB", "NUMSUB", channel)?.array?.last?.int ?? -1
        }
        #expect(await eventually(within: .seconds(10)) { await offThePool { listeners(victim) } == 2 })

        await offThePool { cluster.node(port: victim)?.kill() }
        do {
            _ = try await offThePool { try cluster.waitForPromotion(of: replica) }
            var heard = -1
            let resubscribed = await eventually(within: .seconds(10)) {
                heard = await offThePool { listeners(replica) }
                return heard == 2
            }
            #expect(resubscribed, "\(heard) instances listen on \(channel) at the promoted replica")
            // Every connection back (a busy machine may take a while).
            for instance in instances { try await retrying(within: .seconds(20)) { try await instance.engine.checkReady() } }

            // One token for every try: an attempt whose answer the failover
            // lost may have been granted, and is then answered again.
            let token = LeaseToken.random()
            let lease = try await retrying(within: .seconds(10)) {
                try await holder.engine.acquire(AcquireRequest(name: name, ttlMs: 30_000, token: token))
            }
            let waiter = Task { try await waiting.engine.acquire(AcquireRequest(name: name, ttlMs: 30_000, waitMs: 20_000)) }
            #expect(await eventually { waiting.engine.waiterCount == 1 })
            try await holder.engine.release(name, token: lease.lease.token)
            let released = ContinuousClock.now
            let grant = try await waiter.value
            // Woken, not found by a recheck: the lease had 30 s to run.
            #expect(ContinuousClock.now - released < .seconds(2), "granted \(ContinuousClock.now - released) after the release")
            try? await waiting.engine.release(name, token: grant.lease.token)
        } catch {
            try? await offThePool { try cluster.restart(port: victim) }
            throw error
        }
        try await offThePool { try cluster.restart(port: victim) }
        for instance in instances { await instance.stop() }
    }

    /// One lockd instance's engine over a Cluster.
    private final class Instance: Sendable {
        let backend: RedisLockBackend
        let engine: LockEngine
        private let task: Mutex<Task<Void, Never>>

        init(configuration: RedisConfiguration, loops: EventLoopGroup) throws {
            let logger = Logger(label: "test")
            backend = try RedisLockBackend(configuration: configuration, loops: loops, logger: logger)
            engine = LockEngine(store: backend.store, loops: loops, upkeepLoop: backend.upkeepLoop, logger: logger)
            let engine = engine
            task = Mutex(Task { await engine.run() })
        }

        var runner: Task<Void, Never> { task.withLock { $0 } }

        /// Beats again after ``runner`` was cancelled.
        func restart() {
            let engine = engine
            task.withLock { $0 = Task { await engine.run() } }
        }

        func stop() async {
            runner.cancel()
            await runner.value
            await backend.shutdown()
        }
    }
}
