import LockdRedis
import LockdTestSupport
import LockdTransport
@testable import LockEngine
import Testing

/// Waiting on a real Redis Cluster (the shared 3 + 3 fixture) while a
/// subscribed name's slot moves to another master, and while one node's
/// subscriber connection is renewed.
@Suite(.serialized) struct ClusterReshardingTests {
    /// A slot moved the way `redis-cli --cluster reshard` moves it: Redis
    /// drops the shard channels of the slot at the old master (`sunsubscribe`
    /// pushed to their subscribers); the waiting instance subscribes again at
    /// the new one and a release there wakes its waiter. An acquire made while
    /// the keys sit on the new master but the slot is not yet handed over is
    /// redirected (`ASK`), refused (`TRYAGAIN`: Redis runs no script whose
    /// keys are partly missing in a slot being imported), and served once the
    /// slot is, without an error to the caller.
    @Test func wakeUpsFollowAMovedSlotAndAnAcquireDuringTheMoveIsServed() async throws {
        // A waiting acquire rides out the window in which the slot refuses
        // its scripts: room for a busy machine.
        var engineConfiguration = LockEngineConfiguration()
        engineConfiguration.outageGrace = .seconds(10)
        try await ClusterInstance.withInstances(2, namePrefix: "cluster-reshard", engineConfiguration: engineConfiguration) { cluster, instances in
            let (holder, waiting) = (instances[0], instances[1])

            let name = try LockName(uniqueLockName())
            let slot = RedisHashSlot(key: name.value)
            let fresh = try Self.name(inSlotOf: name)
            let source = try #require(await offThePool { cluster.masterPort(forSlot: slot) })
            let target = try #require(await offThePool { cluster.masterPorts().keys.first { $0 != source } })

            let lease = try await holder.engine.acquire(AcquireRequest(name: name, ttlMs: 30_000))
            let waiter = Task { try await waiting.engine.acquire(AcquireRequest(name: name, ttlMs: 30_000, waitMs: 30_000, owner: "waiter")) }
            let queued = await eventually { waiting.engine.waiterCount == 1 }
            #expect(queued)
            let subscribed = await eventually(within: .seconds(10)) { await offThePool { ClusterInstance.listeners(on: name, atPort: source) } == 1 }
            #expect(subscribed)

            do {
                // The keys on the target, the slot still the source's: a fresh
                // name's acquire is asked elsewhere, and refused there until the
                // slot is handed over.
                try await offThePool { try cluster.migrate(slot: slot, from: source, to: target, through: .migrated) }
                let before = holder.backend.client.topologyStatistics
                let early = Task { try await holder.engine.acquire(AcquireRequest(name: fresh, ttlMs: 30_000, waitMs: 20_000)) }
                let redirectedAndRefused = await eventually(within: .seconds(10)) {
                    let now = holder.backend.client.topologyStatistics
                    return now.redirects > before.redirects && now.retries > before.retries
                }
                #expect(redirectedAndRefused, "no ASK then TRYAGAIN: \(holder.backend.client.topologyStatistics)")
                try await offThePool { try cluster.finishMigration(slot: slot, to: target) }
                let earlyGrant = try await early.value
                try await holder.engine.release(fresh, token: earlyGrant.lease.token)

                // The waiting instance listens at the slot's new master …
                var heard = (source: -1, target: -1)
                let followed = await eventually(within: .seconds(10)) {
                    heard = await offThePool {
                        (ClusterInstance.listeners(on: name, atPort: source), ClusterInstance.listeners(on: name, atPort: target))
                    }
                    return heard == (0, 1)
                }
                #expect(followed, "listeners on \(ClusterInstance.shardChannel(name)): \(heard.source) at the old master, \(heard.target) at the new")
                // … and is woken by a release there, not found by a recheck
                // (the lease had 30 s to run).
                try await holder.engine.release(name, token: lease.lease.token)
                let released = ContinuousClock.now
                let grant = try await waiter.value
                #expect(grant.lease.owner == "waiter")
                #expect(ContinuousClock.now - released < .seconds(2), "granted \(ContinuousClock.now - released) after the release")
                try await waiting.engine.release(name, token: grant.lease.token)
            } catch {
                waiter.cancel()
                try? await offThePool { try Self.moveBack(slot, in: cluster, from: target, to: source) }
                throw error
            }
            try await offThePool { try Self.moveBack(slot, in: cluster, from: target, to: source) }
        }
    }

    /// A renewed subscription (here: the node dropped the instance's
    /// subscriber connection) costs a look at the queues of the names
    /// subscribed on that node only: a queue on another master is not
    /// touched (its key's `OBJECT IDLETIME` keeps growing), while the
    /// renewed name's queue is looked at, and its waiter is still woken.
    /// (Tried again, up to five times, when the process stalled meanwhile:
    /// then every queue is looked at, as it must be.)
    @Test func aRenewedSubscriptionPutsBackOnlyItsOwnNamesWaiters() async throws {
        // No periodic queue check within the test: it would touch every
        // queue. Leases and waits outlast the attempts (each up to 25 s).
        var engineConfiguration = LockEngineConfiguration()
        engineConfiguration.queueCheckInterval = .seconds(600)
        engineConfiguration.maxWaitMs = 300_000
        try await ClusterInstance.withInstances(2, namePrefix: "cluster-renewed", engineConfiguration: engineConfiguration) { cluster, instances in
            let (holder, waiting) = (instances[0], instances[1])

            // Two names on two masters.
            let prefix = uniqueLockName()
            var names: [UInt16: LockName] = [:]
            for index in 0..<400 where names.count < 2 {
                let name = try LockName("\(prefix):\(index)")
                if let port = await offThePool({ cluster.masterPort(forSlot: RedisHashSlot(key: name.value)) }), names[port] == nil {
                    names[port] = name
                }
            }
            let ports = Array(names.keys)
            try #require(ports.count == 2)
            let (renewedPort, otherPort) = (ports[0], ports[1])
            let (renewed, other) = (try #require(names[renewedPort]), try #require(names[otherPort]))

            var leases: [LockName: LeaseToken] = [:]
            var waiters: [LockName: Task<AcquireGrant, any Error>] = [:]
            for name in [renewed, other] {
                leases[name] = try await holder.engine.acquire(AcquireRequest(name: name, ttlMs: 300_000)).lease.token
                waiters[name] = Task { try await waiting.engine.acquire(AcquireRequest(name: name, ttlMs: 30_000, waitMs: 300_000)) }
            }
            let twoQueued = await eventually { waiting.engine.waiterCount == 2 }
            #expect(twoQueued)
            for (port, name) in names {
                let subscribed = await eventually(within: .seconds(10)) { await offThePool { ClusterInstance.listeners(on: name, atPort: port) } == 1 }
                #expect(subscribed)
            }
            // Seconds since anything touched each queue (Redis counts whole seconds).
            let idle = { @Sendable () -> (renewed: Int, other: Int) in
                (Self.idleSeconds(of: renewed, atPort: renewedPort), Self.idleSeconds(of: other, atPort: otherPort))
            }
            // A stall of the whole process (a busy machine) rightly makes
            // the instance look at every queue: a beat that came later than
            // the liveness window, or a reconnection. The look a renewed
            // subscription asks for is shown by an attempt without one.
            let reconcileAllAsked = { waiting.engine.pendingUpkeep.withLock { $0.reconcileAllAsked } }
            for attempt in 1...5 {
                let askedBefore = reconcileAllAsked()
                let queuesTouched = await eventually(within: .seconds(15)) {
                    let seconds = await offThePool(idle)
                    return seconds.renewed >= 3 && seconds.other >= 3
                }
                #expect(queuesTouched, "queues touched while their waiters sleep")

                // The node drops the instance's subscriber connection (back
                // since the last attempt's drop), which reconnects and
                // subscribes its names there again.
                let renewedSubscribed = await eventually(within: .seconds(10)) {
                    await offThePool { ClusterInstance.listeners(on: renewed, atPort: renewedPort) } == 1
                }
                #expect(renewedSubscribed)
                let killed = await offThePool { RedisAdminClient.call(port: renewedPort, "CLIENT", "KILL", "TYPE", "pubsub")?.int ?? 0 }
                #expect(killed >= 1)
                var seen = (renewed: -1, other: -1)
                let lookedAgain = await eventually(within: .seconds(10)) {
                    seen = await offThePool(idle)
                    return (0...1).contains(seen.renewed)
                }
                #expect(lookedAgain, "the renewed name's queue idle for \(seen.renewed) s")
                let lookedAtAll = reconcileAllAsked() > askedBefore
                if lookedAtAll && attempt < 5 { continue }
                #expect(!lookedAtAll, "every attempt stalled long enough to look at every queue")
                #expect(seen.other >= 2, "the other master's queue was looked at too (idle \(seen.other) s)")
                break
            }

            // Both waiters are still woken by a release.
            for name in [renewed, other] {
                try await holder.engine.release(name, token: try #require(leases[name]))
                let released = ContinuousClock.now
                let grant = try await #require(waiters[name]).value
                #expect(ContinuousClock.now - released < .seconds(2), "\(name) granted \(ContinuousClock.now - released) after the release")
                try await waiting.engine.release(name, token: grant.lease.token)
            }
        }
    }

    /// A fresh name whose slot is `name`'s (found by trying suffixes: one in
    /// 16 384 matches).
    private static func name(inSlotOf name: LockName) throws -> LockName {
        let slot = RedisHashSlot(key: name.value)
        let prefix = uniqueLockName()
        for index in 0..<1_000_000 where RedisHashSlot(key: "\(prefix):\(index)") == slot {
            return try LockName("\(prefix):\(index)")
        }
        throw TestFailure("no name in slot \(slot)")
    }

    /// Seconds since a name's queue was last read or written (`OBJECT IDLETIME`; -1: no queue).
    private static func idleSeconds(of name: LockName, atPort port: UInt16) -> Int {
        RedisAdminClient.call(port: port, "OBJECT", "IDLETIME", "lockd:{\(name.value)}:waiters")?.int ?? -1
    }

    /// Hands `slot` back to the master on `source` (completing a move to
    /// `target` first, if one is under way), for the next test.
    private static func moveBack(_ slot: RedisHashSlot, in cluster: RedisClusterFixture, from target: UInt16, to source: UInt16) throws {
        if cluster.masterPort(forSlot: slot) == source { try cluster.migrate(slot: slot, from: source, to: target) }
        try cluster.migrate(slot: slot, from: target, to: source)
    }
}
