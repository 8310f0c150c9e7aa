import Glibc
import LockdRedis
import LockdTestSupport
import LockdTransport
import RESP
import Synchronization
import Testing

/// Review 14 (issue 22, wip-redis27: the connection's command and waiter
/// queues a ring over one buffer, a waiter consumed as it reads its reply in
/// place, one-digit and one-byte replies read at once): every caller gets
/// its own reply, never a neighbour's, while hundreds of commands are in
/// flight on two connections a loop (the ring grows and wraps), callers give
/// up before and after their command is written (an entry removed from the
/// middle of the queue, a written one's reply dropped), and every connection
/// is killed by Redis between rounds (the queues failed and emptied, then
/// refilled). Commands of every path: a plain command, a pipeline, a script
/// awaited, a script answered by callback and read in place — with replies
/// of every short shape the new fast paths read (empty, one byte, one digit).
@Suite struct RedisReplyOrderReviewTests {
    /// What one call came back with.
    enum Outcome: Sendable, Equatable {
        case matched
        /// A reply, but not the one this caller asked for.
        case wrong(String)
        case failed(RedisError.Kind)
    }

    /// The tag a call asks Redis to echo: every short shape (empty, one
    /// byte, a digit, two digits) among longer ones, unique otherwise.
    static func tag(round: Int, call: Int) -> String {
        switch call % 6 {
        case 0: ""
        case 1: String(call % 10)
        case 2: "x"
        case 3: String(10 + call % 90)
        default: "r\(round)-c\(call)-" + String(repeating: "v", count: call % 40)
        }
    }

    static let echoScript = RedisScript("return ARGV[1]")

    /// A call of kind `call % 4`, cancelled after `yields` turns when
    /// `cancels`; checks the reply against the tag.
    static func call(_ client: RedisClient, round: Int, call: Int, cancels: Bool, yields: Int) async -> Outcome {
        let tag = tag(round: round, call: call)
        @Sendable func judge(_ result: Result<String?, RedisError>) -> Outcome {
            switch result {
            case .success(let text): text == tag ? .matched : .wrong("\(text.debugDescription) for \(tag.debugDescription)")
            case .failure(let error): .failed(error.kind)
            }
        }
        switch call % 4 {
        case 0, 1, 2:
            let task = Task { () async -> Outcome in
                do throws(RedisError) {
                    switch call % 4 {
                    case 0:
                        return judge(.success(try await client.send(["ECHO", .string(tag)]).string))
                    case 1:
                        let replies = try await client.pipeline([["ECHO", .string(tag + "a")], ["ECHO", .string(tag)], ["ECHO", .string(tag + "b")]])
                        let texts = replies.map { try? $0.get().string }
                        guard texts[0] == tag + "a", texts[2] == tag + "b" else { return .wrong("pipeline \(texts) for \(tag.debugDescription)") }
                        return judge(.success(texts[1] ?? nil))
                    default:
                        return judge(.success(try await client.run(echoScript, keys: [], arguments: [tag]).string))
                    }
                } catch {
                    return .failed(error.kind)
                }
            }
            if cancels {
                for _ in 0..<yields { await Task.yield() }
                task.cancel()
            }
            return await task.value
        default:
            let cancellation = CallCancellation()
            var writer = RESPArgumentWriter(capacity: tag.utf8.count + 16)
            writer.append(tag)
            let arguments = writer.finish()
            return await withCheckedContinuation { (continuation: CheckedContinuation<Outcome, Never>) in
                client.run(echoScript, keyCount: 0, arguments: arguments, cancellation: cancellation) { reply in
                    continuation.resume(returning: judge(reply.map { $0.string() }))
                }
                if cancels {
                    Task {
                        for _ in 0..<yields { await Task.yield() }
                        cancellation.cancel()
                    }
                }
            }
        }
    }

    @Test func everyCallerGetsItsOwnReplyThroughCancellationsGrowthAndReconnects() async throws {
        try await RedisTestHarness.with(loops: 2, configure: {
            $0.clientName = "review14-stressed"
            $0.connectionsPerLoop = 2
            // Long enough that a reply lost on the way (a caller never
            // answered) shows as a timeout, not as slowness of a busy machine.
            $0.commandTimeout = .seconds(30)
            $0.initialReconnectDelay = .milliseconds(5)
            $0.maximumReconnectDelay = .milliseconds(50)
        }) { redis in
            let killer = try RedisTestHarness.makeClient(server: redis.server, group: redis.group) { $0.clientName = "review14-killer" }
            do {
                try await Self.stress(redis, killer: killer)
                await killer.shutdown()
            } catch {
                await killer.shutdown()
                throw error
            }
        }
    }

    private static func stress(_ redis: RedisTestHarness, killer: RedisClient) async throws {
        let rounds = 12
        let callsPerRound = 300
        var outcomes: [Outcome] = []
        var generator = SplitMix64(seed: 0x2214_2027)
        for round in 0..<rounds {
            let plan = (0..<callsPerRound).map { _ in (cancels: generator.next() % 3 == 0, yields: Int(generator.next() % 4)) }
            let killAt = Int(generator.next() % UInt64(callsPerRound))
            let results = await withTaskGroup(of: Outcome?.self) { group -> [Outcome] in
                for call in 0..<callsPerRound {
                    let (cancels, yields) = plan[call]
                    group.addTask { await Self.call(redis.client, round: round, call: call, cancels: cancels, yields: yields) }
                    // Every connection of the stressed client killed
                    // once every other round, mid-flight, from another client.
                    if call == killAt, round % 2 == 1 {
                        group.addTask {
                            _ = try? await killer.send(["CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"])
                            return nil
                        }
                    }
                }
                var results: [Outcome] = []
                for await outcome in group { if let outcome { results.append(outcome) } }
                return results
            }
            outcomes += results
        }
        if let tally = ProcessInfoTally.requested {
            tally(outcomes.map { "\($0)" })
        }
        let wrong = outcomes.compactMap { if case .wrong(let what) = $0 { what } else { nil } }
        #expect(wrong.isEmpty, "\(wrong.count) callers got another caller's reply, e.g. \(wrong.prefix(5))")
        let kinds = outcomes.compactMap { if case .failed(let kind) = $0 { kind } else { nil } }
        // A lost reply leaves its caller waiting until the command times
        // out; a reply read against the wrong frame shows as a violation.
        #expect(!kinds.contains(.timeout), "a caller waited out its timeout: a reply was lost")
        #expect(!kinds.contains(.protocolViolation), "a reply was misread: \(kinds.filter { $0 == .protocolViolation }.count)")
        // (retryable: a command the kill caught before it was sent.)
        let unexpected = Set(kinds).subtracting([.cancelled, .unreachable, .retryable])
        #expect(unexpected.isEmpty, "unexpected failures: \(unexpected)")
        #expect(outcomes.filter { $0 == .matched }.count >= rounds * callsPerRound / 6, "too few calls answered to say anything")
        // After all that, the client still answers in order on every connection.
        for check in 0..<16 {
            #expect(try await redis.client.send(["ECHO", .string("after-\(check)")]).string == "after-\(check)")
        }
    }
}

/// Review 14 debugging aid: set REVIEW14_TALLY=1 to print the outcomes' tally.
enum ProcessInfoTally {
    static var requested: (@Sendable ([String]) -> Void)? {
        guard getenv("REVIEW14_TALLY") != nil else { return nil }
        return { outcomes in
            var counts: [String: Int] = [:]
            for outcome in outcomes { counts[outcome.hasPrefix("wrong") ? "wrong" : outcome, default: 0] += 1 }
            print("review14 tally: \(counts.sorted { $0.key < $1.key })")
        }
    }
}
