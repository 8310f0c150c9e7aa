import LockdRedis
import LockdTestSupport
import LockdTransport
import Testing

/// A real Sentinel deployment (1 master, 2 replicas, 3 sentinels) for each
/// test: the client finds the master and follows it through failovers.
/// One test at a time: deployments failing over at once load a small
/// machine enough to blur the 5 s recoveries these tests time.
@Suite(.serialized) struct RedisSentinelTests {
    /// The port of the server a client's commands reach.
    static func servedPort(_ client: RedisClient) async throws -> UInt16? {
        let reply = try await client.send(["CONFIG", "GET", "port"])
        return reply.array?.last?.string.flatMap { UInt16($0) }
    }

    @Test func theMasterIsFoundAndReplicatedWritesAreConfirmed() async throws {
        try await RedisSentinelFixture.with { sentinel in try await TopologyTestClient.with(url: sentinel.url) { client, _ in
            try await retrying(within: .seconds(5)) { try await client.ping() }
            let master = await offThePool { sentinel.masterPort() }
            #expect(try await Self.servedPort(client) == master)
            #expect(try client.shards().map(\.primary.port) == [master].compactMap { $0 })
            #expect(try client.shards().first?.slots == [0...16383])
            let key = TopologyTestClient.prefix()
            let script = RedisScript("return redis.call('INCR', KEYS[1])")
            let replicated = try await client.run(script, keys: [key], arguments: [], waitingForReplicas: 2, timeout: .seconds(2))
            #expect(replicated.reply.int == 1 && replicated.replicas == 2)
            // Pipelines and keyless commands go to the master too.
            let replies = try await client.pipeline([["INCR", .string(key)], ["ROLE"]])
            #expect(try replies[0].get().int == 2 && replies[1].get().array?.first?.string == "master")
        } }
    }

    @Test func aSIGKILLedMasterIsFollowedWithinFiveSecondsOfThePromotion() async throws {
        try await RedisSentinelFixture.with { sentinel in try await TopologyTestClient.with(url: sentinel.url) { client, _ in
            try await retrying(within: .seconds(5)) { try await client.ping() }
            let key = TopologyTestClient.prefix()
            let channel = key + ":events"
            let subscription = try await client.subscribe(to: [channel])
            var events = subscription.makeAsyncIterator()
            _ = try await client.send(["SET", .string(key), "before"])

            let old = try await offThePool { try sentinel.killMaster() }
            // Until a replica is promoted, commands fail fast and say why.
            for _ in 0..<5 {
                let (outcome, took) = await TopologyTestClient.timed(client, ["GET", .string(key)])
                #expect(took < .seconds(1))
                if case .failure(let error) = outcome { #expect(error.isServerUnavailable, "\(error)") }
                try await Task.sleep(for: .milliseconds(20))
            }
            let promoted = try await offThePool { try sentinel.waitForPromotion(replacing: old) }
            try await retrying(within: .seconds(10)) { _ = try await client.send(["SET", .string(key), "after"]) }
            let recovery = ContinuousClock.now - promoted.at
            #expect(recovery < .seconds(5), "recovered \(recovery) after the promotion")
            #expect(try await Self.servedPort(client) == promoted.port)
            try await retrying(within: .seconds(5)) { try await client.ping() }
            #expect(client.topologyStatistics.primaryChanges >= 1)

            // The subscription moved with the master.
            #expect(await RedisPubSubTests.next(&events, of: subscription, within: 5) { $0 == .resubscribed } == .resubscribed)
            try await retrying(within: .seconds(5)) {
                guard try await client.send(["PUBLISH", .string(channel), "after"]).int == 1 else { throw TestFailure("not subscribed yet") }
            }
            #expect(await RedisPubSubTests.next(&events, of: subscription) {
                $0 == .message(RedisPubSubMessage(channel: channel, payload: Array("after".utf8)))
            } != nil)
        } }
    }

    @Test func aGracefulFailoverIsFollowed() async throws {
        try await RedisSentinelFixture.with { sentinel in try await TopologyTestClient.with(url: sentinel.url) { client, _ in
            try await retrying(within: .seconds(5)) { try await client.ping() }
            let old = try #require(await offThePool { sentinel.masterPort() })
            #expect(try await Self.servedPort(client) == old)
            let promoted = try await offThePool { try sentinel.failover() }
            let key = TopologyTestClient.prefix()
            // Writes reach the new master (the old one answers READONLY once demoted).
            try await retrying(within: .seconds(10)) {
                _ = try await client.send(["SET", .string(key), "after"])
                guard try await Self.servedPort(client) == promoted.port else { throw TestFailure("still on the old master") }
            }
            #expect(ContinuousClock.now - promoted.at < .seconds(5))
        } }
    }

    @Test func aClientStartedWhileTheMasterIsDownIsUsableOnceOneIsElected() async throws {
        try await RedisSentinelFixture.with { sentinel in
            let old = try await offThePool { try sentinel.killMaster() }
            try await TopologyTestClient.with(url: sentinel.url) { client, _ in
                let (outcome, took) = await TopologyTestClient.timed(client, ["PING"])
                #expect(took < .seconds(1))
                if case .failure(let error) = outcome { #expect(error.isServerUnavailable, "\(error)") }
                let promoted = try await offThePool { try sentinel.waitForPromotion(replacing: old) }
                try await retrying(within: .seconds(10)) { try await client.ping() }
                #expect(ContinuousClock.now - promoted.at < .seconds(5))
                #expect(try await Self.servedPort(client) == promoted.port)
            }
        }
    }
}
