import LockdRedis
import LockdTestSupport
import LockdTransport
import Testing

@Suite struct RedisPubSubTests {
    /// Reads events until one matches; after `seconds` the subscription is
    /// cancelled, which ends the sequence, so a missing event fails the test
    /// instead of hanging it.
    static func next(
        _ iterator: inout RedisSubscription.AsyncIterator, of subscription: RedisSubscription, within seconds: Double = 3,
        where matches: @escaping @Sendable (RedisSubscription.Event) -> Bool = { _ in true }
    ) async -> RedisSubscription.Event? {
        let watchdog = Task {
            try await Task.sleep(for: .seconds(seconds))
            subscription.cancel()
        }
        defer { watchdog.cancel() }
        while let event = await iterator.next() {
            if matches(event) { return event }
        }
        return nil
    }

    @Test func messagesAreDeliveredForChannelsPatternsAndShardChannels() async throws {
        try await RedisTestHarness.with { redis in
            let channel = redis.key("events")
            let channels = try await redis.client.subscribe(to: [channel])
            let patterns = try await redis.client.subscribe(to: [redis.key("ev*")], kind: .pattern)
            let shards = try await redis.client.subscribe(to: [redis.key("shard")], kind: .shardChannel)
            #expect(try await redis.client.send(["PUBLISH", .string(channel), "hello"]).int == 2)
            #expect(try await redis.client.send(["SPUBLISH", .string(redis.key("shard")), "sharded"]).int == 1)
            var channelEvents = channels.makeAsyncIterator()
            var patternEvents = patterns.makeAsyncIterator()
            var shardEvents = shards.makeAsyncIterator()
            #expect(await Self.next(&channelEvents, of: channels) == .message(RedisPubSubMessage(channel: channel, payload: Array("hello".utf8))))
            #expect(await Self.next(&patternEvents, of: patterns) == .message(RedisPubSubMessage(channel: channel, pattern: redis.key("ev*"), payload: Array("hello".utf8))))
            #expect(await Self.next(&shardEvents, of: shards) == .message(RedisPubSubMessage(channel: redis.key("shard"), payload: Array("sharded".utf8))))
            channels.cancel()
            #expect(await channelEvents.next() == nil)
            // The pattern subscription is still there; the channel one is gone from Redis.
            let subscribed = try await retrying(within: .seconds(2)) { () async throws(RedisError) -> Int in
                let count = try await redis.client.send(["PUBLISH", .string(channel), "again"]).int ?? -1
                guard count == 1 else { throw RedisError(.retryable, message: "still \(count) receivers") }
                return count
            }
            #expect(subscribed == 1)
        }
    }

    /// A consumer that falls a whole buffer behind loses the oldest
    /// messages — and is told so, as after a reconnect, after the newest.
    @Test func aSubscriberThatFallsBehindIsToldItLostMessages() async throws {
        try await RedisTestHarness.with { redis in
            let channel = redis.key("flood")
            let subscription = try await redis.client.subscribe(to: [channel])
            // On the same connection: its message comes after the flood's.
            let end = try await redis.client.subscribe(to: [redis.key("flood-end")])
            let count = 10_100
            for start in stride(from: 0, to: count, by: 1_000) {
                _ = try await redis.client.pipeline((start..<min(start + 1_000, count)).map { ["PUBLISH", .string(channel), .string("\($0)")] })
            }
            _ = try await redis.client.send(["PUBLISH", .string(redis.key("flood-end")), "end"])
            var ends = end.makeAsyncIterator()
            #expect(await Self.next(&ends, of: end, within: 30) != nil)
            // Read only now: the buffer (10 000 events) overflowed meanwhile.
            let watchdog = Task {
                try await Task.sleep(for: .seconds(30))
                subscription.cancel()
            }
            defer { watchdog.cancel() }
            var first: String?
            var sawLast = false
            var toldAfterLast = false
            for await event in subscription {
                switch event {
                case .message(let message):
                    first = first ?? message.string
                    sawLast = sawLast || message.string == "\(count - 1)"
                case .resubscribed:
                    toldAfterLast = sawLast
                }
                if toldAfterLast { break }
            }
            #expect(sawLast, "the newest message arrived")
            #expect(toldAfterLast, "no .resubscribed after the messages were lost")
            #expect(first != "0", "the oldest message was kept")
        }
    }

    /// A subscribe cancelled after it was written still runs on the server:
    /// it must be undone there, or the node counts this client as listening
    /// (the lock scripts ask `PUBSUB NUMSUB` whether an instance listens).
    @Test func aCancelledSubscribeLeavesNoSubscriptionOnTheServer() async throws {
        // Commands wait out the pause below rather than time out.
        try await RedisTestHarness.with(configure: { $0.commandTimeout = .seconds(5) }) { redis in
            let channel = redis.key("abandoned")
            // The subscriber connection is up before the server stalls.
            let before = try await redis.client.subscribe(to: [redis.key("before")])
            // Commands wait unanswered from now on, for a second.
            _ = try await redis.client.send(["CLIENT", "PAUSE", "1000", "ALL"])
            let caller = Task { try await redis.client.subscribe(to: [channel]) }
            // Long enough (on most runs) for the SUBSCRIBE to be written;
            // cancelled earlier, it is never sent, and the test still passes:
            // it cannot fail for being slow.
            try await Task.sleep(for: .milliseconds(200))
            caller.cancel()
            await #expect(throws: RedisError.self) { _ = try await caller.value }
            // Confirmed after whatever the cancelled call left on the same connection.
            let marker = try await redis.client.subscribe(to: [redis.key("marker")])
            let listeners = try await redis.client.send(["PUBSUB", "NUMSUB", .string(channel)]).array?.last?.int
            #expect(listeners == 0, "the server still counts a cancelled subscription")
            marker.cancel()
            before.cancel()
        }
    }

    @Test func subscriptionsComeBackAfterTheConnectionIsKilled() async throws {
        try await RedisTestHarness.with { redis in
            let channel = redis.key("wakeups")
            let subscription = try await redis.client.subscribe(to: [channel])
            var events = subscription.makeAsyncIterator()
            _ = try await redis.client.send(["PUBLISH", .string(channel), "one"])
            #expect(await Self.next(&events, of: subscription) == .message(RedisPubSubMessage(channel: channel, payload: Array("one".utf8))))
            #expect(try await redis.client.send(["CLIENT", "KILL", "TYPE", "pubsub"]).int == 1)
            #expect(await Self.next(&events, of: subscription) { $0 == .resubscribed } == .resubscribed)
            _ = try await redis.client.send(["PUBLISH", .string(channel), "two"])
            #expect(await Self.next(&events, of: subscription) == .message(RedisPubSubMessage(channel: channel, payload: Array("two".utf8))))
        }
    }

    @Test func subscriptionsComeBackAfterRedisRestarts() async throws {
        try await RedisTestHarness.with { redis in
            let channel = redis.key("restart")
            let subscription = try await redis.client.subscribe(to: [channel])
            var events = subscription.makeAsyncIterator()
            await offThePool { redis.server.kill() }
            try await offThePool { try redis.server.restart() }
            #expect(await Self.next(&events, of: subscription, within: 5) { $0 == .resubscribed } == .resubscribed)
            _ = try await retrying(within: .seconds(3)) { try await redis.client.send(["PUBLISH", .string(channel), "back"]) }
            #expect(await Self.next(&events, of: subscription) == .message(RedisPubSubMessage(channel: channel, payload: Array("back".utf8))))
        }
    }

    @Test func aHungRedisIsNoticedByPingsAndTheSubscriptionRenewed() async throws {
        try await RedisTestHarness.with(configure: {
            $0.pubSubHealthCheckInterval = .milliseconds(100)
            $0.commandTimeout = .milliseconds(200)
            $0.connectTimeout = .milliseconds(300)
        }) { redis in
            let channel = redis.key("frozen")
            let subscription = try await redis.client.subscribe(to: [channel])
            var events = subscription.makeAsyncIterator()
            redis.server.pause()
            // Frozen until the client notices: its pings go unanswered and
            // the subscriber connection drops (a frozen server also fails
            // the handshakes of its reconnections). A freeze timed by a
            // sleep could end before a busy client had looked.
            let noticed = await eventually(within: .seconds(10)) {
                let stats = redis.client.connectionStats
                return stats.ready < stats.connections
            }
            redis.server.resume()
            #expect(noticed, "the frozen Redis was not noticed")
            #expect(await Self.next(&events, of: subscription, within: 5) { $0 == .resubscribed } == .resubscribed)
            // The command connection may still be reconnecting from the freeze.
            _ = try await retrying(within: .seconds(3)) { try await redis.client.send(["PUBLISH", .string(channel), "awake"]) }
            #expect(await Self.next(&events, of: subscription) == .message(RedisPubSubMessage(channel: channel, payload: Array("awake".utf8))))
        }
    }

    @Test func subscribingWhileRedisIsDownFailsFast() async throws {
        try await RedisTestHarness.with { redis in
            await offThePool { redis.server.stop() }
            _ = try? await redis.client.subscribe(to: [redis.key("warmup")])
            do throws(RedisError) {
                _ = try await redis.client.subscribe(to: [redis.key("x")])
                Issue.record("Redis is down")
            } catch {
                #expect(error.isServerUnavailable)
            }
        }
    }
}
