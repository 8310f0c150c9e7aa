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

    private static func run(
        _ script: RedisScript, key: String, by amount: Int64, on client: RedisClient, cancellation: CallCancellation = CallCancellation()
    ) async -> Result<RESPValue, RedisError> {
        var writer = RESPArgumentWriter(capacity: 64)
        writer.append(key)
        writer.append(amount)
        let arguments = writer.finish()
        return await withCheckedContinuation { continuation in
            client.run(script, keyCount: 1, arguments: arguments, cancellation: cancellation) { continuation.resume(returning: $0) }
        }
    }
}
