import LockdRedis
import LockdTestSupport
import LockdTransport
import RESP
import Synchronization
import Testing

/// review2 (session 10): script calls answered by callback (`RedisScriptCall`)
/// pipelined on one connection while `SCRIPT FLUSH` makes some of them meet
/// `-NOSCRIPT` and resend themselves by `EVAL` under the same command id, and
/// while callers cancel at every stage: each caller hears exactly once, a
/// reply is only ever its own, and no script runs twice.
@Suite struct Review2ScriptCallTests {
    /// What the callers heard, by call.
    private final class Heard: Sendable {
        let results = Mutex<[Int: [Result<RESPValue, RedisError>]]>([:])

        func record(_ call: Int, _ result: Result<RESPValue, RedisError>) {
            results.withLock { $0[call, default: []].append(result) }
        }

        /// How many of `calls` callers have not heard after 30 s at most
        /// (waiting until all have): a caller never answered fails the test
        /// instead of hanging it.
        func unheard(of calls: Int) async -> Int {
            _ = await eventually(within: .seconds(30)) { results.withLock { $0.count } == calls }
            return calls - results.withLock { $0.count }
        }
    }

    @Test func pipelinedCallsMeetingNoscriptAndCancelsEachHearTheirOwnReplyOnce() async throws {
        let script = RedisScript("redis.call('INCRBY', KEYS[1], ARGV[1]) return {KEYS[1], ARGV[1]}")
        try await RedisTestHarness.with { (redis: RedisTestHarness) async throws in
            let calls = 300
            let heard = Heard()
            var flushes: [Task<Void, Never>] = []
            for call in 0..<calls {
                if call % 25 == 0 {
                    flushes.append(Task { _ = await redis.outcome(["SCRIPT", "FLUSH"]) })
                }
                var writer = RESPArgumentWriter(capacity: 96)
                writer.append(redis.key("c\(call)"))
                writer.append(Int64(call + 1))
                let cancellation = CallCancellation()
                redis.client.run(script, keyCount: 1, arguments: writer.finish(), cancellation: cancellation) { result in
                    // (A reply is read during the call that hands it over.)
                    heard.record(call, result.map { reply in reply.value() })
                }
                switch call % 4 {
                case 1: cancellation.cancel()
                case 2: Task { await Task.yield(); cancellation.cancel() }
                default: break
                }
            }
            let unheard = await heard.unheard(of: calls)
            #expect(unheard == 0, "\(unheard) callers never heard")
            for flush in flushes { await flush.value }
            // Anything answered twice has been by now: this goes after every call on the connection.
            _ = try await redis.client.send(["PING"])
            let results = heard.results.withLock { $0 }
            var ranTotal = 0
            for call in 0..<calls {
                let key = redis.key("c\(call)")
                let answers = results[call] ?? []
                #expect(answers.count == 1, "call \(call) answered \(answers.count) times")
                let stored = try await redis.client.send(["GET", .string(key)]).int
                // Ran at most once, with its own argument.
                #expect(stored == nil || stored == call + 1, "call \(call): \(key) holds \(String(describing: stored))")
                if stored != nil { ranTotal += 1 }
                guard let answer = answers.first else { continue }
                switch answer {
                case .success(let value):
                    let fields = value.array ?? []
                    #expect(fields.count == 2 && fields[0].string == key && fields[1].string == "\(call + 1)",
                            "call \(call) got another call's reply: \(value)")
                    #expect(stored == call + 1, "call \(call) answered yet its script did not run")
                case .failure(let error):
                    #expect(error.kind == .cancelled && call % 4 != 0 && call % 4 != 3, "call \(call) failed: \(error)")
                }
            }
            // Calls never cancelled all ran; some went by EVAL after -NOSCRIPT.
            #expect(ranTotal >= calls / 2)
            let info = try await redis.client.send(["INFO", "commandstats"]).string ?? ""
            #expect(info.contains("cmdstat_eval:calls="), "no call met -NOSCRIPT: \(info)")
        }
    }

    /// Replies large enough to arrive over several reads (a frame split
    /// anywhere, the in-place path's "not all here yet"), pipelined with
    /// small ones, some of whose callers cancel: each caller reads its own.
    @Test func largeAndSmallRepliesSplitAcrossReadsEachReachTheirOwnCaller() async throws {
        let script = RedisScript("return {KEYS[1], string.rep('x', tonumber(ARGV[1])), tonumber(ARGV[1])}")
        try await RedisTestHarness.with { (redis: RedisTestHarness) async throws in
            let calls = 120
            let heard = Heard()
            var sizes: [Int] = []
            for call in 0..<calls {
                // Sizes around the usual read buffer sizes, and tiny ones.
                let size = [0, 1, 7, 4_095, 4_096, 16_383, 65_536, 200_003][call % 8] + call % 3
                sizes.append(size)
                var writer = RESPArgumentWriter(capacity: 96)
                writer.append(redis.key("s\(call)"))
                writer.append(Int64(size))
                let cancellation = CallCancellation()
                redis.client.run(script, keyCount: 1, arguments: writer.finish(), cancellation: cancellation) { result in
                    heard.record(call, result.map { reply in reply.value() })
                }
                if call % 5 == 3 { Task { await Task.yield(); cancellation.cancel() } }
            }
            let unheard = await heard.unheard(of: calls)
            #expect(unheard == 0, "\(unheard) callers never heard")
            _ = try await redis.client.send(["PING"])
            let results = heard.results.withLock { $0 }
            for call in 0..<calls {
                let answers = results[call] ?? []
                #expect(answers.count == 1, "call \(call) answered \(answers.count) times")
                guard let answer = answers.first else { continue }
                switch answer {
                case .success(let value):
                    let fields = value.array ?? []
                    #expect(fields.count == 3 && fields[0].string == redis.key("s\(call)") && fields[1].bytes?.count == sizes[call]
                            && fields[1].bytes?.allSatisfy { $0 == UInt8(ascii: "x") } == true && fields[2].int == sizes[call],
                            "call \(call) got another reply: \(fields.first.map { "\($0)" } ?? "none"), \(fields.count) fields")
                case .failure(let error):
                    #expect(error.kind == .cancelled && call % 5 == 3, "call \(call) failed: \(error)")
                }
            }
        }
    }
}
