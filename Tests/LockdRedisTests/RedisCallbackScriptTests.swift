import LockdRedis
import LockdTransport
import RESP
import Synchronization
import Testing

/// Script calls answered by callback (the form lockd's Redis lock requests
/// use), against a real redis-server the test starts itself.
@Suite struct RedisCallbackScriptTests {
    @Test func aCallMeetingNoscriptRunsTheScriptOnceByEvalAndTheNextGoesByEvalsha() async throws {
        let script = RedisScript("return redis.call('INCRBY', KEYS[1], ARGV[1])")
        try await RedisTestHarness.with { (redis: RedisTestHarness) async throws in
            _ = try await redis.client.send(["SCRIPT", "FLUSH"])
            let key = redis.key("counter")
            let first = await Self.run(script, key: key, by: 5, on: redis.client)
            #expect(try first.get().int == 5)
            let second = await Self.run(script, key: key, by: 7, on: redis.client)
            #expect(try second.get().int == 12)
            // Each ran exactly once: one EVAL (after one NOSCRIPT), then EVALSHA.
            #expect(try await redis.client.send(["GET", .string(key)]).int == 12)
            let info = try await redis.client.send(["INFO", "commandstats"]).string ?? ""
            #expect(info.contains("cmdstat_eval:calls=1,"), "\(info)")
            #expect(info.contains("cmdstat_evalsha:calls=2,"), "\(info)")
        }
    }

    /// A call whose subclass writes its keys and arguments as it is sent
    /// (lockd's lock calls): sent again by `EVAL` after `-NOSCRIPT`, it
    /// writes them again, the same, and runs once.
    @Test func aCallWritingItsArgumentsAsItIsSentWritesThemAgainWhenSentAgain() async throws {
        let script = RedisScript("return redis.call('INCRBY', KEYS[1], ARGV[1])")
        try await RedisTestHarness.with { (redis: RedisTestHarness) async throws in
            _ = try await redis.client.send(["SCRIPT", "FLUSH"])
            let key = redis.key("written-on-send")
            let (result, writes) = await withCheckedContinuation { continuation in
                redis.client.run(IncrementCall(client: redis.client, script: script, key: key, amount: 5) { result, writes in
                    continuation.resume(returning: (result, writes))
                }, cancellation: CallCancellation())
            }
            #expect(try result.get() == 5)
            // EVALSHA met NOSCRIPT, then EVAL: written twice, run once.
            #expect(writes == 2)
            #expect(try await redis.client.send(["GET", .string(key)]).int == 5)
        }
    }

    /// INCRBY key amount, written as the call is sent; answers the reply's
    /// integer and how many times the arguments were written.
    final class IncrementCall: RedisScriptCall, @unchecked Sendable {
        // Safe: `key` and `amount` never change; `writes` and `done` are
        // touched only by the call's sending and answer, on its loop.
        private let key: String
        private let amount: Int64
        private var writes = 0
        private let done: @Sendable (Result<Int, RedisError>, Int) -> Void

        init(client: RedisClient, script: RedisScript, key: String, amount: Int64, done: @escaping @Sendable (Result<Int, RedisError>, Int) -> Void) {
            self.key = key
            self.amount = amount
            self.done = done
            super.init(client: client, script: script, keyCount: 1,
                       argumentRoom: key.utf8.count + 2 * RESPArgumentWriter.overhead + RESPArgumentWriter.integerRoom)
        }

        override func writeArguments(_ cursor: inout RESPArgumentCursor) {
            writes += 1
            cursor.append(key)
            cursor.append(amount)
        }

        override func replied(_ reply: borrowing RedisScriptReply) {
            done(reply.map { $0.int() ?? -1 }, writes)
        }
    }

    @Test func aCallCancelledBeforeItStartsIsAnsweredCancelledAndNeverSent() async throws {
        let script = RedisScript("return redis.call('INCRBY', KEYS[1], ARGV[1])")
        try await RedisTestHarness.with { (redis: RedisTestHarness) async throws in
            let key = redis.key("untouched")
            let cancellation = CallCancellation()
            cancellation.cancel()
            let result = await Self.run(script, key: key, by: 1, on: redis.client, cancellation: cancellation)
            if case .failure(let error) = result {
                #expect(error.kind == .cancelled)
            } else {
                Issue.record("a cancelled call must not answer \(result)")
            }
            #expect(try await redis.client.send(["EXISTS", .string(key)]).int == 0)
        }
    }

    @Test func aScriptErrorIsTheCallersRefusal() async throws {
        let script = RedisScript("return redis.error_reply('no such thing')")
        try await RedisTestHarness.with { (redis: RedisTestHarness) async throws in
            let result = await Self.run(script, key: redis.key("any"), by: 1, on: redis.client)
            if case .failure(let error) = result {
                #expect(error.kind == .refused)
                #expect(error.message.contains("no such thing"))
            } else {
                Issue.record("a script error must fail the call: \(result)")
            }
        }
    }

    /// A script's table reply of every plain kind, read in place as the
    /// lock store reads its scripts' replies, over RESP2 and RESP3 alike.
    @Test(arguments: [false, true])
    func aTableReplyIsReadFieldByFieldWhereItArrived(resp3: Bool) async throws {
        let script = RedisScript("redis.call('SET', KEYS[1], ARGV[1]); return {1, redis.call('GET', KEYS[1]), false, {'a', 7}, 'x', -5}")
        try await RedisTestHarness.with(configure: { $0.prefersRESP3 = resp3 }) { (redis: RedisTestHarness) async throws in
            var writer = RESPArgumentWriter(capacity: 64)
            writer.append(redis.key("table"))
            writer.append("owner-1")
            let arguments = writer.finish()
            struct Fields: Equatable { var count: Int?, kind: Int?, owner: String?, missing: Int?, nested: Int?, a: String?, seven: Int?, x: [UInt8]?, last: Int? }
            let fields = await withCheckedContinuation { (continuation: CheckedContinuation<Result<Fields, RedisError>, Never>) in
                redis.client.run(script, keyCount: 1, arguments: arguments, cancellation: CallCancellation()) { result in
                    continuation.resume(returning: result.map { reply in
                        Fields(count: reply.array(), kind: reply.int(), owner: reply.string(), missing: reply.int(), nested: reply.array(),
                                      a: reply.string(), seven: reply.int(), x: reply.bytes(), last: reply.int())
                    })
                }
            }
            #expect(try fields.get() == Fields(count: 6, kind: 1, owner: "owner-1", missing: nil, nested: 2, a: "a", seven: 7,
                                               x: Array("x".utf8), last: -5))
        }
    }

    static func run(
        _ script: RedisScript, key: String, by amount: Int64, on client: RedisClient, cancellation: CallCancellation = CallCancellation()
    ) async -> Result<RESPValue, RedisError> {
        var writer = RESPArgumentWriter(capacity: 64)
        writer.append(key)
        writer.append(amount)
        let arguments = writer.finish()
        return await withCheckedContinuation { continuation in
            client.run(script, keyCount: 1, arguments: arguments, cancellation: cancellation) { result in
                continuation.resume(returning: result.map { reply in reply.value() })
            }
        }
    }
}
