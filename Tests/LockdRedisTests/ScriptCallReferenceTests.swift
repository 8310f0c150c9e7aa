@testable import LockdRedis
import LockdTestSupport
import LockdTransport
import RESP
import Synchronization
import Testing

/// A script call run on its loop with a lent cancellation hands its
/// creator's reference to its reply's waiter: each call must live until it
/// is answered, be answered once, and be freed once answered — whether a
/// ready connection took the reference or the call was answered at once.
@Suite struct ScriptCallReferenceTests {
    /// What the calls saw, by call.
    final class Tally: Sendable {
        let replies = Mutex<[Int: [Int?]]>([:])
        let freed = Mutex(0)
    }

    /// `INCRBY key value`, answered into `tally`; it counts itself freed.
    final class Probe: RedisScriptCall, @unchecked Sendable {
        // Safe to share: `number`, `key`, `value` and `tally` never change,
        // and `cancellation` is touched by the answer only (on the loop).
        let number: Int
        let key: String
        let value: Int64
        let tally: Tally
        /// Held until answered, as a store's call holds its caller's
        /// (through the engine's answer): the run lends it.
        var cancellation: CallCancellation?

        init(number: Int, client: RedisClient, script: RedisScript, key: String, value: Int64, tally: Tally, cancellation: CallCancellation) {
            self.number = number
            self.key = key
            self.value = value
            self.tally = tally
            self.cancellation = cancellation
            super.init(client: client, script: script, keyCount: 1,
                       argumentRoom: key.utf8.count + 2 * RESPArgumentWriter.overhead + RESPArgumentWriter.integerRoom)
        }

        override func writeArguments(_ cursor: inout RESPArgumentCursor) {
            cursor.append(key)
            cursor.append(value)
        }

        override func replied(_ reply: borrowing RedisScriptReply) {
            cancellation = nil
            let read = reply.map { $0.int() }
            let value: Int? = switch read {
            case .success(let value): value
            case .failure: nil
            }
            tally.replies.withLock { $0[number, default: []].append(value) }
        }

        deinit { tally.freed.withLock { $0 += 1 } }
    }

    @Test func callsRunOnTheirLoopAreAnsweredOnceThenFreed() async throws {
        let script = RedisScript("return redis.call('INCRBY', KEYS[1], ARGV[1])")
        try await RedisTestHarness.with { (redis: RedisTestHarness) async throws in
            let tally = Tally()
            let calls = 200
            let router = redis.client.routers[0]
            let key = redis.key("counter")
            // Every fourth caller is cancelled before its run: answered at
            // once, its call never queued.
            let client = redis.client
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                router.loop.execute {
                    for number in 0..<calls {
                        let cancellation = CallCancellation()
                        if number % 4 == 3 { cancellation.cancel() }
                        let lent = Unmanaged.passUnretained(cancellation)
                        client.run(Probe(number: number, client: client, script: script, key: key, value: 1, tally: tally, cancellation: cancellation),
                                   lentCancellation: lent)
                    }
                    continuation.resume()
                }
            }
            let answered = await eventually(within: .seconds(20)) { tally.replies.withLock { $0.count } == calls }
            #expect(answered)
            let freed = await eventually(within: .seconds(20)) { tally.freed.withLock { $0 } == calls }
            #expect(freed, "\(tally.freed.withLock { $0 }) of \(calls) calls freed")
            let replies = tally.replies.withLock { $0 }
            let ran = (0..<calls).filter { $0 % 4 != 3 }
            for number in 0..<calls {
                #expect(replies[number]?.count == 1, "call \(number) answered \(replies[number]?.count ?? 0) times")
            }
            // The calls that ran counted 1 to 150, each once; the cancelled ones failed.
            let counted = ran.compactMap { replies[$0]?.first ?? nil }.sorted()
            #expect(counted == Array(1...ran.count))
            let cancelled = (0..<calls).filter { $0 % 4 == 3 }
            #expect(cancelled.allSatisfy { replies[$0] == [nil] })
            let stored = try await redis.client.send(["GET", .string(key)]).int
            #expect(stored == ran.count)
        }
    }
}
