import LockdTestSupport
import Testing

@testable import LockdTransport

/// ``EventLoop/batchStartedAt``: the reading a connection takes as a
/// request's start (wip-http30). It must be the batch's own — no later than
/// anything its handlers see, and renewed with each batch — or a request's
/// duration and head deadline would count from a stale or future time.
@Suite struct BatchStartedAtTests {
    /// A job runs in a batch begun before it: the reading is set and no
    /// later than the job's own; a job run in a later batch gets that
    /// batch's reading, taken after the first job's (which waited 1 ms on
    /// the clock before it ended).
    @Test func eachBatchHasItsOwnReadingTakenBeforeItsWork() async throws {
        let loop = try EventLoop.spawn(name: "batch-start")
        defer { loop.shutdown() }
        let first = await withCheckedContinuation { (answer: CheckedContinuation<(UInt64, UInt64), Never>) in
            loop.execute {
                let batch = loop.batchStartedAt
                let entered = MonotonicClock.now()
                // Past this reading before the job ends: the next batch begins later.
                while MonotonicClock.now() &- entered <= 1_000_000 {}
                answer.resume(returning: (batch, entered))
            }
        }
        #expect(first.0 > 0)
        #expect(first.0 <= first.1)
        // Later jobs run in this batch's iteration or in later batches;
        // one that runs in a later batch sees a reading taken after the
        // first job's (jobs are asked for until one does: a condition, no sleep).
        var renewed = false
        for _ in 0..<1_000 where !renewed {
            let later = await withCheckedContinuation { (answer: CheckedContinuation<(UInt64, UInt64), Never>) in
                loop.execute { answer.resume(returning: (loop.batchStartedAt, MonotonicClock.now())) }
            }
            #expect(later.0 >= first.0)
            #expect(later.0 <= later.1)
            renewed = later.0 > first.1
        }
        #expect(renewed, "no later batch took a reading of its own")
    }
}
