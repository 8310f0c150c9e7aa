import LockdRedis
import LockdTestSupport
import LockdTransport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A real Redis Cluster (3 masters, 3 replicas) shared by these tests: routing
/// to every shard, redirections during a slot migration, a master killed.
@Suite(.serialized) struct RedisClusterTests {
    static func cluster() async throws -> RedisClusterFixture {
        try await offThePool { try RedisClusterFixture.shared() }
    }

    @Test func commandsScriptsPipelinesAndShardChannelsReachEveryShard() async throws {
        let cluster = try await Self.cluster()
        try await TopologyTestClient.with(url: cluster.url) { client, group in
            try await retrying(within: .seconds(5)) { try await client.ping() }
            let masters = await offThePool { cluster.masterPorts() }
            let shards = try client.shards()
            #expect(shards.count == 3)
            for shard in shards { #expect(masters[shard.primary.port] == shard.slots, "\(shard)") }

            // One key per shard, found on its master by the servers themselves.
            let prefix = TopologyTestClient.prefix()
            let keys = shards.map { "\(prefix):{\($0.firstSlot.hashTag)}" }
            for key in keys { #expect(try await client.send(["SET", .string(key), .string(key)]).string == "OK") }
            for (key, shard) in zip(keys, shards) {
                #expect(await offThePool { RedisAdminClient.call(port: shard.primary.port, "GET", key)?.string } == key)
            }
            // The servers hash keys as the client does.
            let sample = (0..<40).map { "\(prefix):\($0):{t\($0 % 7)}x" } + ["{}", "a{b}c", "{{x}}", "foo{}{bar}"]
            let port = shards[0].primary.port
            let serverSlots = await offThePool { sample.map { RedisAdminClient.call(port: port, "CLUSTER", "KEYSLOT", $0)?.int } }
            #expect(serverSlots == sample.map { Int(RedisHashSlot(key: $0).value) })

            // Pipelines split by master, from every loop.
            for loop in group.loops {
                let values = try await Task(executorPreference: loop) {
                    let many = (0..<60).map { "\(prefix):p\($0)" }
                    let sets = try await client.pipeline(many.map { ["SET", .string($0), .string("v:\($0)")] })
                    #expect(sets.allSatisfy { (try? $0.get().string) == "OK" })
                    return try await client.pipeline(many.map { ["GET", .string($0)] }).map { try $0.get().string }
                }.value
                #expect(values == (0..<60).map { "v:\(prefix):p\($0)" })
            }

            // Scripts by their first key, one by one, pipelined, and with WAIT.
            let increment = RedisScript("return redis.call('INCR', KEYS[1])")
            let counted = try await client.run(increment, pipelined: (0..<30).map { (keys: ["\(prefix):n\($0)"], arguments: []) })
            #expect(counted.map { try? $0.get().int } == Array(repeating: 1, count: 30))
            for key in keys {
                #expect(try await client.run(increment, keys: [key + ":n"], arguments: []).int == 1)
                let replicated = try await client.run(increment, keys: [key + ":w"], arguments: [], waitingForReplicas: 1, timeout: .seconds(2))
                #expect(replicated.reply.int == 1 && replicated.replicas == 1)
            }
            let sizes = try await client.sendToEveryShard(["DBSIZE"])
            #expect(sizes.map(\.shard) == shards && sizes.allSatisfy { ((try? $0.result.get().int) ?? 0) > 0 })
            #expect(try await client.send(["PING"]).string == "PONG")

            // A shard channel on every shard.
            let channels = shards.map { "\(prefix):chan:{\($0.firstSlot.hashTag)}" }
            let subscription = try await client.subscribe(to: channels, kind: .shardChannel)
            var events = subscription.makeAsyncIterator()
            for channel in channels { #expect(try await client.send(["SPUBLISH", .string(channel), "hi"]).int == 1) }
            var heard: Set<String> = []
            while heard.count < channels.count, let event = await RedisPubSubTests.next(&events, of: subscription) {
                if case .message(let message) = event { heard.insert(message.channel) }
            }
            #expect(heard == Set(channels))
            // A classic channel: PUBLISH on any node reaches subscribers on
            // every node (its count is of the node's own subscribers only).
            let classic = try await client.subscribe(to: ["\(prefix):broadcast"])
            var classicEvents = classic.makeAsyncIterator()
            _ = try await client.send(["PUBLISH", .string("\(prefix):broadcast"), "all"])
            #expect(await RedisPubSubTests.next(&classicEvents, of: classic)
                == .message(RedisPubSubMessage(channel: "\(prefix):broadcast", payload: Array("all".utf8))))
            #expect(client.topologyStatistics.redirects == 0)
        }
    }

    @Test func tryAgainAskAndMovedAreFollowedWhileASlotMigrates() async throws {
        let cluster = try await Self.cluster()
        // Room for TRYAGAIN retries while the fixture moves keys on another
        // thread. The client's map changes only by what its commands meet —
        // no periodic refresh, and the shard channel on a client of its own,
        // since its drop by the old owner prompts a refresh that, on a busy
        // machine, could learn the new owner before the command meets MOVED.
        try await TopologyTestClient.with(url: cluster.url, configure: {
            $0.commandTimeout = .seconds(5)
            $0.topologyRefreshInterval = .seconds(3_600)
        }) { client, _ in
            try await TopologyTestClient.with(url: cluster.url) { subscriber, _ in
                try await retrying(within: .seconds(5)) { try await client.ping() }
                try await retrying(within: .seconds(5)) { try await subscriber.ping() }
                let tag = TopologyTestClient.prefix()
                let slot = RedisHashSlot(key: tag)
                let masters = await offThePool { cluster.masterPorts() }
                let source = try #require(await offThePool { cluster.masterPort(forSlot: slot) })
                let target = try #require(masters.keys.first { $0 != source })
                let old = "{\(tag)}:old"
                let other = "{\(tag)}:other"
                let fresh = "{\(tag)}:fresh"
                _ = try await client.send(["SET", .string(old), "before"])
                _ = try await client.send(["SET", .string(other), "other"])
                let channel = "{\(tag)}:events"
                let subscription = try await subscriber.subscribe(to: [channel], kind: .shardChannel)
                var events = subscription.makeAsyncIterator()

                // Half the slot's keys moved: a command on both gets TRYAGAIN
                // until the rest follow, then ASK.
                try await offThePool {
                    try cluster.migrate(slot: slot, from: source, to: target, through: .importing)
                    try cluster.moveKeys([old], from: source, to: target)
                }
                let rest = Task { try await offThePool {
                    usleep(200_000)
                    try cluster.migrate(slot: slot, from: source, to: target, through: .migrated)
                } }
                let both = try await client.send(["MGET", .string(old), .string(other)])
                #expect(both == .array([.bulkString(Array("before".utf8)), .bulkString(Array("other".utf8))]))
                try await rest.value
                #expect(client.topologyStatistics.retries > 0)

                // Keys moved, slot not yet handed over: the source answers ASK.
                #expect(try await client.send(["GET", .string(old)]).string == "before")
                #expect(try await client.send(["SET", .string(fresh), "during"]).string == "OK")
                let pipelined = try await client.pipeline([["GET", .string(old)], ["GET", .string(fresh)], ["INCR", .string("{\(tag)}:n")]])
                #expect(pipelined.map { try? $0.get() } == [.bulkString(Array("before".utf8)), .bulkString(Array("during".utf8)), .integer(1)])
                let asked = client.topologyStatistics.redirects
                #expect(asked >= 5)
                // ASK does not change the map.
                #expect(try client.shards().contains { $0.primary.port == source && $0.slots.contains { $0.contains(Int(slot.value)) } })

                // Handed over: the source answers MOVED, and the map follows.
                try await offThePool { try cluster.finishMigration(slot: slot, to: target) }
                #expect(try await client.send(["GET", .string(fresh)]).string == "during")
                #expect(client.topologyStatistics.redirects > asked)
                let moved = await eventually(within: .seconds(5)) {
                    (try? client.shards())?.contains { $0.primary.port == target && $0.slots.contains { $0.contains(Int(slot.value)) } } == true
                }
                #expect(moved)
                let settled = client.topologyStatistics.redirects
                #expect(try await client.send(["GET", .string(old)]).string == "before")
                #expect(client.topologyStatistics.redirects == settled)

                // The source dropped the shard channel with its slot; it is
                // subscribed again on the slot's new master.
                #expect(await RedisPubSubTests.next(&events, of: subscription, within: 5) { $0 == .resubscribed } == .resubscribed)
                #expect(try await client.send(["SPUBLISH", .string(channel), "moved"]).int == 1)
                #expect(await RedisPubSubTests.next(&events, of: subscription) {
                    $0 == .message(RedisPubSubMessage(channel: channel, payload: Array("moved".utf8)))
                } != nil)

                // And back, for the next test.
                try await offThePool { try cluster.migrate(slot: slot, from: target, to: source) }
                #expect(try await client.send(["GET", .string(old)]).string == "before")
            }
        }
    }

    @Test func aKilledMastersSlotsFailFastWhileOthersServeAndRecoverWithinFiveSecondsOfPromotion() async throws {
        let cluster = try await Self.cluster()
        try await TopologyTestClient.with(url: cluster.url) { client, _ in
            try await retrying(within: .seconds(5)) { try await client.ping() }
            let shards = try client.shards()
            let prefix = TopologyTestClient.prefix()
            let keys = shards.map { "\(prefix):{\($0.firstSlot.hashTag)}" }
            for key in keys { _ = try await client.send(["SET", .string(key), "before"]) }
            let channels = shards.map { "\(prefix):chan:{\($0.firstSlot.hashTag)}" }
            let subscription = try await client.subscribe(to: channels, kind: .shardChannel)
            var events = subscription.makeAsyncIterator()

            let victim = shards[0].primary.port
            let replica = try await offThePool { try cluster.replicaPort(of: victim) }
            await offThePool { cluster.node(port: victim)?.kill() }
            try await TopologyTestClient.restoring({ try cluster.restart(port: victim) }) {
                // Before the replica can take over (cluster-node-timeout 1 s):
                // the victim's slots fail fast, the others serve.
                for _ in 0..<5 {
                    let (lost, took) = await TopologyTestClient.timed(client, ["GET", .string(keys[0])])
                    #expect(took < .seconds(1))
                    if case .failure(let error) = lost { #expect(error.isServerUnavailable, "\(error)") }
                    for key in keys.dropFirst() {
                        let (served, _) = await TopologyTestClient.timed(client, ["GET", .string(key)])
                        #expect((try? served.get().string) == "before")
                    }
                }
                await #expect(throws: RedisError.self) { try await client.ping() }

                let promoted = try await offThePool { try cluster.waitForPromotion(of: replica) }
                try await retrying(within: .seconds(10)) { _ = try await client.send(["SET", .string(keys[0]), "after"]) }
                let recovery = ContinuousClock.now - promoted
                #expect(recovery < .seconds(5), "recovered \(recovery) after the promotion")
                try await retrying(within: .seconds(5)) { try await client.ping() }
                #expect(client.topologyStatistics.primaryChanges >= 1)
                #expect(try client.shards().contains { $0.primary.port == replica })

                // Shard channels moved to the promoted master with it.
                #expect(await RedisPubSubTests.next(&events, of: subscription, within: 5) { $0 == .resubscribed } == .resubscribed)
                try await retrying(within: .seconds(5)) {
                    guard try await client.send(["SPUBLISH", .string(channels[0]), "after"]).int == 1 else { throw TestFailure("not subscribed yet") }
                }
                #expect(await RedisPubSubTests.next(&events, of: subscription) {
                    $0 == .message(RedisPubSubMessage(channel: channels[0], payload: Array("after".utf8)))
                } != nil)
                #expect(try await client.send(["SPUBLISH", .string(channels[1]), "still"]).int == 1)
            }
        }
    }
}
