import LockdRedis
import LockdTestSupport
import LockdTransport
import Synchronization
import Testing

/// A caller that gives up on a written command: answered `cancelled` at
/// once (a script's caller only once its reply came), while the connection
/// keeps the command's place in its reply order, so its reply, when it
/// comes, reaches nobody — never the next caller.
@Suite struct RedisCancellationTests {
    /// A Redis whose client (one connection) waits 60 s for a reply, a
    /// second client to look on, and a key holding "mine".
    private func withBlockingRedis(_ body: (RedisTestHarness, RedisClient, String) async throws -> Void) async throws {
        try await RedisTestHarness.with(configure: { $0.commandTimeout = .seconds(60) }) { redis in
            let key = redis.key("k")
            _ = try await redis.client.send(["SET", .string(key), "mine"])
            let other = try RedisTestHarness.makeClient(server: redis.server, group: redis.group) { $0.clientName = "other" }
            do {
                try await body(redis, other, key)
                await other.shutdown()
            } catch {
                await other.shutdown()
                throw error
            }
        }
    }

    /// Whether Redis counts `count` blocked clients.
    private static func blocked(_ count: Int, on other: RedisClient) async -> Bool {
        (try? await other.send(["INFO", "clients"]).string)?.contains("blocked_clients:\(count)\r\n") == true
    }

    /// The bytes Redis holds unread from the client blocked in `BLPOP`.
    private static func queuedBytes(on other: RedisClient) async -> Int? {
        guard let clients = try? await other.send(["CLIENT", "LIST"]).string else { return nil }
        for line in clients.split(separator: "\n") where line.contains("cmd=blpop") {
            for field in line.split(separator: " ") where field.hasPrefix("qbuf=") { return Int(field.dropFirst(5)) }
        }
        return nil
    }

    /// Queues a command behind the cancelled `BLPOP` on its connection,
    /// pushes a value to make the `BLPOP`'s reply come, and checks that
    /// reply reaches nobody: the command behind gets its own, and so do
    /// the next callers on the connection.
    private static func releaseAndCheckOrder(_ redis: RedisTestHarness, other: RedisClient, list: String, key: String) async throws {
        let before = await queuedBytes(on: other) ?? 0
        let behind = Task { await redis.outcome(["ECHO", "behind"]) }
        // Written, and waiting in Redis behind the BLPOP.
        let queued = await eventually(within: .seconds(10)) { (await queuedBytes(on: other) ?? 0) > before }
        #expect(queued, "the command behind the BLPOP was not written")
        _ = try await other.send(["RPUSH", .string(list), "late"])
        let behindReply = try? await behind.value.get()
        #expect(behindReply?.string == "behind", "the command behind the cancelled BLPOP got \(String(describing: behindReply))")
        let popped = await eventually(within: .seconds(10)) {
            let length = try? await other.send(["LLEN", .string(list)]).int
            return await blocked(0, on: other) && length == 0
        }
        #expect(popped, "Redis did not serve the cancelled BLPOP")
        #expect(try await redis.client.send(["ECHO", "first"]).string == "first")
        #expect(try await redis.client.send(["GET", .string(key)]).string == "mine")
        let replies = try await redis.client.pipeline([["ECHO", "second"], ["GET", .string(key)]])
        #expect(replies.map { try? $0.get().string } == ["second", "mine"])
        #expect(try await redis.client.send(["ECHO", "third"]).string == "third")
    }

    @Test func aCancelledBLPOPCallerReturnsAtOnceAndItsLateReplyReachesNobody() async throws {
        try await withBlockingRedis { redis, other, key in
            let list = redis.key("list")
            let done = Atomic<Bool>(false)
            let waiting = Task { () async -> Result<RESPValue, RedisError> in
                defer { done.store(true, ordering: .releasing) }
                return await redis.outcome(["BLPOP", .string(list), "30"])
            }
            // Written and waiting in Redis: cancelled now, it keeps its place in the reply order.
            let isBlocked = await eventually(within: .seconds(10)) { await Self.blocked(1, on: other) }
            try #require(isBlocked)
            waiting.cancel()
            let returned = await eventually(within: .seconds(5)) { done.load(ordering: .acquiring) }
            #expect(returned, "a cancelled caller must return at once, not when Redis answers")
            // (A caller that waits for the reply is answered now, the test failed but not held up.)
            try await Self.releaseAndCheckOrder(redis, other: other, list: list, key: key)
            if case .failure(let error) = await waiting.value {
                #expect(error.kind == .cancelled)
            } else {
                Issue.record("the cancelled call must not return a reply")
            }
        }
    }

    @Test func aCancelledPipelineReturnsAtOnceAndItsLateRepliesReachNobody() async throws {
        try await withBlockingRedis { redis, other, key in
            let list = redis.key("list")
            let done = Atomic<Bool>(false)
            let waiting = Task { () async -> Result<[Result<RESPValue, RedisError>], RedisError> in
                defer { done.store(true, ordering: .releasing) }
                do throws(RedisError) {
                    return .success(try await redis.client.pipeline([["ECHO", "x"], ["BLPOP", .string(list), "30"], ["ECHO", "y"]]))
                } catch {
                    return .failure(error)
                }
            }
            let isBlocked = await eventually(within: .seconds(10)) { await Self.blocked(1, on: other) }
            try #require(isBlocked)
            waiting.cancel()
            let returned = await eventually(within: .seconds(5)) { done.load(ordering: .acquiring) }
            #expect(returned, "a cancelled pipeline's caller must return at once, not when Redis answers")
            // (A caller that waits for the reply is answered now, the test failed but not held up.)
            try await Self.releaseAndCheckOrder(redis, other: other, list: list, key: key)
            if case .failure(let error) = await waiting.value {
                #expect(error.kind == .cancelled)
            } else {
                Issue.record("the cancelled pipeline must not return replies")
            }
        }
    }

    /// A script's caller may make up for a cancelled call with another call
    /// (the engine gives back a cancelled acquire's lease), which must not
    /// reach Redis first: cancelled once written, it is answered only once
    /// Redis ran it. `CLIENT PAUSE … WRITE` holds the written call in Redis.
    @Test func aCancelledScriptCallerIsAnsweredOnlyOnceTheScriptRan() async throws {
        try await withBlockingRedis { redis, other, key in
            let counter = redis.key("counter")
            let script = RedisScript("return redis.call('INCRBY', KEYS[1], ARGV[1])")
            // Cached first: the held call is then one EVALSHA, not EVALSHA and EVAL.
            #expect(try await redis.client.run(script, keys: [counter], arguments: ["1"]).int == 1)
            _ = try await other.send(["CLIENT", "PAUSE", "60000", "WRITE"])
            let unpaused = Atomic<Bool>(false)
            let answeredBeforeUnpause = Atomic<Bool>(false)
            let waiting = Task { () async -> Result<RESPValue, RedisError> in
                do throws(RedisError) {
                    return .success(try await redis.client.run(script, keys: [counter], arguments: ["1"]))
                } catch {
                    if !unpaused.load(ordering: .acquiring) { answeredBeforeUnpause.store(true, ordering: .releasing) }
                    return .failure(error)
                }
            }
            let isHeld = await eventually(within: .seconds(10)) { await Self.blocked(1, on: other) }
            try #require(isHeld)
            waiting.cancel()
            // Sent after the cancel, on the same loop: once it is answered, the
            // loop has handled the cancel (a caller answered at once would be by now).
            #expect(try await other.send(["PING"]).string == "PONG")
            unpaused.store(true, ordering: .releasing)
            _ = try await other.send(["CLIENT", "UNPAUSE"])
            if case .failure(let error) = await waiting.value {
                #expect(error.kind == .cancelled)
            } else {
                Issue.record("the cancelled call must not return a reply")
            }
            let answeredEarly = answeredBeforeUnpause.load(ordering: .acquiring)
            #expect(!answeredEarly, "a cancelled script caller must be answered only once the script ran")
            #expect(try await other.send(["GET", .string(counter)]).string == "2")
            #expect(try await redis.client.send(["ECHO", "next"]).string == "next")
            #expect(try await redis.client.send(["GET", .string(key)]).string == "mine")
        }
    }
}
