import Foundation
import LockdRedis
import LockdTestSupport
import LockdTransport
@testable import LockEngine
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
        let instances = try (0..<3).map { _ in try ClusterInstance(configuration: configuration, loops: loops) }
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
            let doomedQueued = await eventually { doomed.engine.waiterCount == 1 }
            #expect(doomedQueued)
            let waiter = Task { try await survivor.engine.acquire(AcquireRequest(name: name, ttlMs: 30_000, waitMs: 20_000, owner: "survivor")) }
            let survivorQueued = await eventually { survivor.engine.waiterCount == 1 }
            #expect(survivorQueued)
            let livenessKey = RedisLivenessKeys.perSlot.key(for: name)
            // Each instance beats a slot's key on its next beat after a waiter
            // arrives there: wait for both beats, asking whichever node is the
            // slot's master now (an earlier suite may have failed one over).
            // The key is the slot's, shared with every earlier test on the
            // shared cluster that waited on a name in this slot, so their
            // instances may still be in it: these two are looked for by id.
            let waiting = [survivor.backend.store.instanceID, doomed.backend.store.instanceID]
            var alive: [String] = []
            let bothBeat = await eventually {
                alive = await offThePool {
                    let master = cluster.masterPort(forSlot: RedisHashSlot(key: name.value)) ?? port
                    let members = RedisAdminClient.call(port: master, "ZRANGE", livenessKey, "0", "-1")?.array ?? []
                    return members.compactMap(\.string)
                }
                return waiting.allSatisfy(alive.contains)
            }
            #expect(bothBeat, "\(livenessKey) on the master of \(name) holds \(alive), not both of \(waiting)")

            // Both instances listen on the name's shard channel, on its master.
            let listeners = { @Sendable in
                let master = cluster.masterPort(forSlot: RedisHashSlot(key: name.value)) ?? port
                return ClusterInstance.listeners(on: name, atPort: master)
            }
            let bothSubscribed = await eventually(within: .seconds(10)) { await offThePool(listeners) == 2 }
            #expect(bothSubscribed)

            // The doomed instance stops beating and listening (as if killed:
            // a killed lockd's connections close at once) with its waiter
            // ahead in the queue: the survivor's waiter is served anyway.
            doomed.runner.cancel()
            let subscribed = await eventually(within: .seconds(10)) { await offThePool(listeners) == 1 }
            #expect(subscribed)
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

    /// A stopped engine's instance stops listening, and stays so: a waiter
    /// left parked in it (its request not yet answered) that looks at the
    /// queue again — here at the lease's first expiry, which a renewal
    /// pushed back — must not subscribe anew with nobody to drop the
    /// subscription (the scripts would count the instance as listening).
    /// A give-back names its grant's fence, or its attempt's nonce, in the
    /// Cluster's variant of the release script too, in either layout.
    @Test func aGiveBackEndsOnlyTheGrantItsFenceNames() async throws {
        let cluster = try await offThePool { try RedisClusterFixture.shared() }
        let loops = try EventLoopGroup(loopCount: 1, namePrefix: "cluster-give-back")
        defer { loops.shutdown() }
        let instance = try ClusterInstance(configuration: try RedisConfiguration(url: cluster.url), loops: loops)
        defer { instance.runner.cancel() }
        try await retrying(within: .seconds(10)) { try await instance.engine.checkReady() }
        for limit in [1, 3] {
            try await GiveBackTests.onlyTheNamedGrantEnds(instance.backend.store, limit: limit)
            try await GiveBackTests.onlyTheAttemptsGrantEnds(instance.backend.store, limit: limit)
        }
    }

    @Test func aStoppedInstanceStaysUnsubscribedWhenItsWaiterLooksAgain() async throws {
        try await ClusterInstance.withInstances(2, namePrefix: "cluster-stopped") { cluster, instances in
            let (holder, stopped) = (instances[0], instances[1])

            let name = try LockName(uniqueLockName())
            let port = try #require(await offThePool { cluster.masterPort(forSlot: RedisHashSlot(key: name.value)) })
            let queue = "lockd:{\(name.value)}:waiters"
            let lease = try await holder.engine.acquire(AcquireRequest(name: name, ttlMs: 8_000))
            let orphan = Task { try await stopped.engine.acquire(AcquireRequest(name: name, ttlMs: 30_000, waitMs: 30_000)) }
            let stoppedQueued = await eventually { stopped.engine.waiterCount == 1 }
            #expect(stoppedQueued)
            let subscribed = await eventually(within: .seconds(10)) { await offThePool { ClusterInstance.listeners(on: name, atPort: port) } == 1 }
            #expect(subscribed)
            // Held beyond the first expiry, where the orphan will look again
            // (a renewal wakes nobody).
            _ = try await holder.engine.renew(name, token: lease.lease.token, ttlMs: 60_000)

            stopped.runner.cancel()
            let unsubscribed = await eventually(within: .seconds(10)) { await offThePool { ClusterInstance.listeners(on: name, atPort: port) } == 0 }
            #expect(unsubscribed)
            // Nothing touches the queue now but the orphan's next look (Redis
            // counts idle time in whole seconds).
            let idle = { @Sendable in RedisAdminClient.call(port: port, "OBJECT", "IDLETIME", queue)?.int ?? -1 }
            let parked = await eventually(within: .seconds(10)) { await offThePool(idle) >= 2 }
            #expect(parked)
            let lookedAgain = await eventually(within: .seconds(15)) { (0...1).contains(await offThePool(idle)) }
            #expect(lookedAgain, "the parked waiter never looked at the queue again")
            #expect(stopped.engine.waiterCount == 1)
            // A subscription would follow its attempt within milliseconds.
            let listening = await eventually(within: .seconds(1)) { await offThePool { ClusterInstance.listeners(on: name, atPort: port) } != 0 }
            #expect(!listening, "the stopped instance listens on \(ClusterInstance.shardChannel(name)) again")

            orphan.cancel()
            _ = try? await orphan.value
            try await holder.engine.release(name, token: lease.lease.token)
        }
    }

    /// Wake-ups travel on the name's shard channel, subscribed on the master
    /// of the name's slot while an instance has waiters on it: after that
    /// master fails over, the waiting instance listens on the promoted
    /// replica, and a waiter queued before the failover is handed its grant
    /// by a release on the other instance.
    @Test func wakeUpsArriveAfterTheMasterOfTheirChannelFailedOver() async throws {
        try await ClusterInstance.withInstances(2, namePrefix: "cluster-wakeups") { cluster, instances in
            let (holder, waiting) = (instances[0], instances[1])

            let name = try LockName(uniqueLockName())
            let channel = ClusterInstance.shardChannel(name)
            let victim = try #require(await offThePool { cluster.masterPort(forSlot: RedisHashSlot(key: name.value)) })
            let replica = try await offThePool { try cluster.replicaPort(of: victim) }
            let listeners = { @Sendable (port: UInt16) in
                RedisAdminClient.call(port: port, "PUBSUB", "SHARDNUMSUB", channel)?.array?.last?.int ?? -1
            }
            // A waiter queued before the failover, behind a long lease: its
            // instance listens on the name's channel while it waits.
            let lease = try await holder.engine.acquire(AcquireRequest(name: name, ttlMs: 30_000))
            let keeper = Task { try await waiting.engine.acquire(AcquireRequest(name: name, ttlMs: 30_000, waitMs: 60_000)) }
            let queued = await eventually { waiting.engine.waiterCount == 1 }
            #expect(queued)
            let subscribed = await eventually(within: .seconds(10)) { await offThePool { listeners(victim) } == 1 }
            #expect(subscribed)

            await offThePool { cluster.node(port: victim)?.kill() }
            do {
                _ = try await offThePool { try cluster.waitForPromotion(of: replica) }
                var heard = -1
                let resubscribed = await eventually(within: .seconds(10)) {
                    heard = await offThePool { listeners(replica) }
                    return heard == 1
                }
                #expect(resubscribed, "\(heard) instances listen on \(channel) at the promoted replica")
                for instance in instances { try await retrying(within: .seconds(20)) { try await instance.engine.checkReady() } }
                // The keeper may be answered 503 in the failover, or granted
                // (the failover may lose the lease): either way out of the way.
                _ = try? await retrying(within: .seconds(10)) {
                    do { try await holder.engine.forceRelease(name, fence: lease.lease.fence) } catch {
                        guard case LockError.notHeld = error else { throw error }
                    }
                }
                if let kept = try? await keeper.value { try? await waiting.engine.release(name, token: kept.lease.token) }

                // One token for every try: an attempt whose answer the failover
                // lost may have been granted, and is then answered again.
                let token = LeaseToken.random()
                let held = try await retrying(within: .seconds(10)) {
                    try await holder.engine.acquire(AcquireRequest(name: name, ttlMs: 30_000, token: token))
                }
                let waiter = Task { try await waiting.engine.acquire(AcquireRequest(name: name, ttlMs: 30_000, waitMs: 20_000)) }
                let queuedAgain = await eventually { waiting.engine.waiterCount == 1 }
                #expect(queuedAgain)
                try await holder.engine.release(name, token: held.lease.token)
                let released = ContinuousClock.now
                let grant = try await waiter.value
                // Woken, not found by a recheck: the lease had 30 s to run.
                #expect(ContinuousClock.now - released < .seconds(2), "granted \(ContinuousClock.now - released) after the release")
                try? await waiting.engine.release(name, token: grant.lease.token)
            } catch {
                keeper.cancel()
                try? await offThePool { try cluster.restart(port: victim) }
                throw error
            }
            try await offThePool { try cluster.restart(port: victim) }
        }
    }

    /// In a Cluster nothing goes on the classic channel (which the cluster
    /// bus would carry to every node): a release on one instance hands the
    /// name to a waiter on another in the wake-up it `SPUBLISH`es on the
    /// name's shard channel, for a name on every master; the waiting
    /// instance listens there only while it has waiters on the name.
    @Test func handOffsTravelOnEachNamesShardChannelOnly() async throws {
        let cluster = try await offThePool { try RedisClusterFixture.shared() }
        try await offThePool { try cluster.waitUntilHealthy(within: .seconds(30)) }
        let configuration = try RedisConfiguration(url: cluster.url)
        let loops = try (0..<3).map { _ in try EventLoopGroup(loopCount: 1, namePrefix: "cluster-handoff") }
        defer { for group in loops { group.shutdown() } }
        let instances = try loops.prefix(2).map { try ClusterInstance(configuration: configuration, loops: $0) }
        defer { for instance in instances { instance.runner.cancel() } }
        let (holder, waiting) = (instances[0], instances[1])
        for instance in instances { try await retrying(within: .seconds(20)) { try await instance.engine.checkReady() } }

        let masters = await offThePool { Array(cluster.masterPorts().keys) }
        var names: [UInt16: LockName] = [:]
        let prefix = uniqueLockName()
        for index in 0..<400 where names.count < masters.count {
            let name = try LockName("\(prefix):\(index)")
            if let port = await offThePool({ cluster.masterPort(forSlot: RedisHashSlot(key: name.value)) }), names[port] == nil {
                names[port] = name
            }
        }
        #expect(names.count == masters.count)
        // What the wake-ups say, heard by a third client on each name's channel;
        // and on the classic wake-up channel (which the cluster bus carries to
        // every node), where nothing may come. (Lock events, on their own
        // classic channel, are not wake-ups.)
        let observer = RedisClient(configuration: configuration, eventLoopGroup: loops[2], logger: Logger(label: "test"))
        let subscription = try await retrying(within: .seconds(10)) {
            try await observer.subscribe(to: names.values.map(ClusterInstance.shardChannel), kind: .shardChannel)
        }
        let classicSubscription = try await retrying(within: .seconds(10)) { try await observer.subscribe(to: ["lockd:waiting"]) }
        let heard = Mutex<[String]>([])
        let heardClassic = Mutex<[String]>([])
        let reader = Task { for await case .message(let message) in subscription { heard.withLock { $0.append(message.string) } } }
        let classicReader = Task {
            for await case .message(let message) in classicSubscription { heardClassic.withLock { $0.append(message.string) } }
        }

        for (port, name) in names {
            let lease = try await holder.engine.acquire(AcquireRequest(name: name, ttlMs: 30_000))
            let waiter = Task { try await waiting.engine.acquire(AcquireRequest(name: name, ttlMs: 30_000, waitMs: 20_000)) }
            let queued = await eventually { waiting.engine.waiterCount == 1 }
            #expect(queued)
            let listeners = { @Sendable in
                let master = cluster.masterPort(forSlot: RedisHashSlot(key: name.value)) ?? port
                return ClusterInstance.listeners(on: name, atPort: master)
            }
            // The observer and the waiting instance.
            let bothSubscribed = await eventually(within: .seconds(10)) { await offThePool(listeners) == 2 }
            #expect(bothSubscribed)
            try await holder.engine.release(name, token: lease.lease.token)
            let grant = try await waiter.value
            // Handed over in the wake-up: `member fence now`.
            let handed = await eventually {
                heard.withLock { messages in
                    messages.contains { $0.hasPrefix(name.value + "\n") && $0.contains(" \(grant.lease.fence) ") }
                }
            }
            #expect(handed, "no grant of fence \(grant.lease.fence) in the wake-ups on \(ClusterInstance.shardChannel(name)): \(heard.withLock { $0 })")
            try await waiting.engine.release(name, token: grant.lease.token)
            // No waiter left here: the instance stops listening (after a grace).
            let subscribed = await eventually(within: .seconds(15)) { await offThePool(listeners) == 1 }
            #expect(subscribed)
        }
        for port in masters {
            let classic = await offThePool { RedisAdminClient.call(port: port, "PUBSUB", "CHANNELS", "lockd:waiting:*")?.array?.count ?? -1 }
            #expect(classic == 0, "classic lockd channels subscribed on \(port)")
        }
        #expect(heardClassic.withLock { $0 }.isEmpty, "wake-ups on the classic channel in a Cluster: \(heardClassic.withLock { $0 })")
        reader.cancel()
        classicReader.cancel()
        await observer.shutdown()
        for instance in instances { await instance.stop() }
    }

    /// A lease that expires with a lock delay keeps its name through the
    /// delay; a waiter on another instance is granted when it ends, woken by
    /// its recheck (nothing announces an expiry or a delay's end).
    @Test func aWaiterOnAnotherInstanceIsGrantedWhenALockDelayEnds() async throws {
        // No queue checks (every 5 s by default): a waiter its recheck does
        // not wake is granted only when its 20 s wait ends.
        var configuration = LockEngineConfiguration()
        configuration.queueCheckInterval = .seconds(120)
        try await ClusterInstance.withInstances(2, namePrefix: "cluster-delay", engineConfiguration: configuration) { _, instances in
            let (holder, waiting) = (instances[0], instances[1])
            let name = try LockName(uniqueLockName())
            // Granted for a minute, then renewed down to 300 ms: a 300 ms
            // grant must reach its engine within 270 ms.
            let held = try await holder.engine.acquire(AcquireRequest(name: name, ttlMs: 60_000, lockDelayMs: 1_500))
            let lease = try await holder.engine.renew(name, token: held.lease.token, ttlMs: 300)
            let delayEndsMs = lease.expiresAtMs + 1_500
            let grant = try await waiting.engine.acquire(AcquireRequest(name: name, ttlMs: 30_000, waitMs: 20_000))
            // When Redis granted it, not when this test was answered (a busy
            // machine delays the answer); promptly means well within the wait.
            let grantedMs = grant.lease.expiresAtMs - grant.lease.ttlMs
            #expect(grantedMs >= delayEndsMs - 20, "granted \(delayEndsMs - grantedMs) ms before the delay ended")
            #expect(grantedMs < delayEndsMs + 10_000, "granted \(grantedMs - delayEndsMs) ms after the delay ended")
            #expect(grant.lease.fence > lease.fence)
            try await waiting.engine.release(name, token: grant.lease.token)
        }
    }

    /// A Redis user that may not use lockd's shard channels (Redis 7 gives
    /// a new ACL user none): a Cluster waiter cannot subscribe, and waits
    /// out its wait on rechecks — it does not look at its queue again and
    /// again, which never let it park (nor answer).
    @Test func aWaiterWhoseShardSubscriptionIsRefusedIsAnsweredWhenItsWaitEnds() async throws {
        let cluster = try await offThePool { try RedisClusterFixture.shared() }
        try await offThePool { try cluster.waitUntilHealthy(within: .seconds(30)) }
        let user = "no-channels-\(UInt32.random(in: 0...UInt32.max))"
        let password = "pw-\(UInt64.random(in: 0...UInt64.max))"
        let ports = cluster.nodes.map(\.port)
        await offThePool {
            for port in ports { _ = RedisAdminClient.call(port: port, "ACL", "SETUSER", user, "on", ">\(password)", "~*", "+@all", "resetchannels") }
        }
        defer { for port in ports { _ = RedisAdminClient.call(port: port, "ACL", "DELUSER", user) } }
        let url = cluster.url.replacingOccurrences(of: "redis+cluster://", with: "redis+cluster://\(user):\(password)@")
        let loops = try EventLoopGroup(loopCount: 1, namePrefix: "cluster-no-channels")
        defer { loops.shutdown() }
        let instance = try ClusterInstance(configuration: try RedisConfiguration(url: url), loops: loops)
        try await retrying(within: .seconds(10)) { try await instance.engine.checkReady() }
        let name = try LockName(uniqueLockName())
        let lease = try await instance.engine.acquire(AcquireRequest(name: name, ttlMs: 30_000))
        let waiter = Task { try await instance.engine.acquire(AcquireRequest(name: name, ttlMs: 30_000, waitMs: 1_000)) }
        // Looping, it would never answer: cancel it after far longer than its wait.
        let watchdog = Task {
            try await Task.sleep(for: .seconds(20))
            waiter.cancel()
        }
        let outcome = await waiter.result
        watchdog.cancel()
        switch outcome {
        case .failure(LockError.lockHeld(let holders, _)): #expect(holders.map(\.fence) == [lease.lease.fence])
        default: Issue.record("the waiter was answered \(outcome), not lock-held when its wait ended")
        }
        _ = try? await instance.engine.release(name, token: lease.lease.token)
        await instance.stop()
    }
}
