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
            try await holder.engine.release(name, token: lease.lease.token)
            let released = ContinuousClock.now
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
