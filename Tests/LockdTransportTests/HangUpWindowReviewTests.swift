import LockdTestSupport
import Testing

@testable import LockdTransport

/// Review (review6, wip-halfclose 9366479): the batch's age bounds how long
/// a loop trusts it. HangUpWindowTests count from ``HangUpWindow/freshness``
/// itself, so a window made endless (a FIN never looked for once the batch
/// carried none) passed them all.
@Suite struct HangUpWindowReviewTests {
    @Test func aBatchOfDataIsNotTrustedForAMillisecond() {
        let start: UInt64 = 5_000_000_000
        var window = HangUpWindow()
        window.began(at: start, count: 1, events: [EpollEvents.readable.rawValue, 0])
        #expect(!window.mayHideHangUp(at: start))
        #expect(window.mayHideHangUp(at: start + 1_000_000), "a batch 1 ms old still stands for the sockets")
    }

    /// On a loop: a job run after its batch, 1 ms after it began (waited
    /// for on the clock, not slept; longer than any window), is told to look.
    @Test func aJobRunLongAfterItsBatchBeganIsToldToLook() async throws {
        let loop = try EventLoop.spawn(name: "review")
        defer { loop.shutdown() }
        let told = await withCheckedContinuation { (answer: CheckedContinuation<Bool, Never>) in
            loop.execute {
                // The batch that ran this job began before this reading.
                let entered = MonotonicClock.now()
                while MonotonicClock.now() &- entered <= 1_000_000 {}
                answer.resume(returning: loop.hangUpMayBeUnseen(at: MonotonicClock.now()))
            }
        }
        #expect(told)
    }
}
