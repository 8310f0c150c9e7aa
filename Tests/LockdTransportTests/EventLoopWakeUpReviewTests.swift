import Dispatch
import Foundation
import LockdTransport
import Synchronization
import Testing

/// Review (issue 22): the loop's wake-up handshake. A job submitted from
/// another thread while the loop is about to sleep must run without any
/// other event: here the loop has no socket and no timer, so a lost
/// wake-up leaves the job unrun for good and the waiting thread's bounded
/// wait on its semaphore fails (the wait is on a condition; its bound only
/// turns a hang into a failure).
@Suite struct EventLoopWakeUpReviewTests {
    /// Threads of their own (not the cooperative pool) ping-pong with an
    /// idle loop: each submits a job, waits for it to run, and submits the
    /// next at once — just as the loop finishes the job and heads for
    /// `epoll_wait`, the window a broken handshake loses a job in.
    @Test func pingPongFromOtherThreadsNeverLosesAJob() async throws {
        let loop = try EventLoop.spawn(name: "wake-review")
        defer { loop.shutdown() }
        let threads = 3
        let rounds = 20_000
        let lost = ReviewCounter()
        let ran = ReviewCounter()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<threads {
                group.addTask {
                    await offThePoolVoid {
                        let done = DispatchSemaphore(value: 0)
                        for _ in 0..<rounds {
                            loop.execute {
                                ran.add()
                                done.signal()
                            }
                            // A job lost: nothing else would wake the loop.
                            if done.wait(timeout: .now() + .seconds(20)) == .timedOut {
                                lost.add()
                                return
                            }
                        }
                    }
                }
            }
        }
        #expect(lost.value == 0, "a job submitted while the loop went to sleep was not run")
        #expect(ran.value == threads * rounds)
    }

    /// The narrowest window: a thread that spins (rather than blocks) on
    /// the last job's run submits the next within nanoseconds of it, after
    /// a pseudo-random delay swept across the loop's few instructions
    /// between running a job and blocking in `epoll_wait`. A lost job fails
    /// its round after a bounded wait (the loop has no timer or socket).
    @Test func spinningSubmitterAcrossTheWayToSleepNeverLosesAJob() async throws {
        let loop = try EventLoop.spawn(name: "wake-review4")
        defer { loop.shutdown() }
        let lostRound = await offThePoolValue { () -> Int? in
            let ran = ReviewCounter()
            var state: UInt64 = 0x9E37_79B9_7F4A_7C15
            var sink = 0
            for round in 1...400_000 {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                // 0–127 turns of a cheap loop: about 0–0.15 µs.
                for step in 0..<Int(state >> 57) { sink &+= step }
                loop.execute { ran.add() }
                let deadline = ContinuousClock.now + .seconds(20)
                var polls = 0
                while ran.value < round {
                    polls &+= 1
                    if polls % 4_096 == 0 {
                        if ContinuousClock.now > deadline { return round }
                        sched_yield()
                    }
                }
            }
            return sink == -1 ? 0 : nil
        }
        #expect(lostRound == nil, "round \(lostRound ?? 0): a job was left unrun by a sleeping loop")
    }

    /// Jobs the loop queues for itself mixed with jobs from other threads:
    /// the loop's own submissions write no eventfd, and must not make a
    /// later foreign submission skip its write while the loop sleeps.
    @Test func foreignJobsAfterLoopSubmittedJobsStillWakeTheLoop() async throws {
        let loop = try EventLoop.spawn(name: "wake-review2")
        defer { loop.shutdown() }
        let rounds = 20_000
        let lost = await offThePoolValue { () -> Bool in
            let done = DispatchSemaphore(value: 0)
            for round in 0..<rounds {
                loop.execute {
                    // Every other round the job queues another from the loop
                    // itself, which signals.
                    if round % 2 == 0 { loop.execute { done.signal() } } else { done.signal() }
                }
                if done.wait(timeout: .now() + .seconds(20)) == .timedOut { return true }
            }
            return false
        }
        #expect(!lost, "a job submitted from another thread was left unrun")
    }

    /// Submissions racing ``EventLoop/shutdown()``: shutdown returns, and
    /// every job is either run or dropped (its closure released) — none is
    /// kept alive by a loop that has exited.
    @Test func jobsRacingShutdownAreRunOrReleased() async throws {
        for _ in 0..<50 {
            let loop = try EventLoop.spawn(name: "wake-review3")
            let settled = ReviewCounter()
            let submitted = 200
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    await offThePoolVoid {
                        for _ in 0..<submitted {
                            let token = SettleToken(settled)
                            loop.execute { token.ran() }
                        }
                    }
                }
                group.addTask { await offThePoolVoid { loop.shutdown() } }
            }
            // Jobs submitted after the exit are dropped at once; those queued
            // before it are dropped by the exiting loop: all settled now.
            #expect(settled.value == submitted)
        }
    }
}

/// A counter shared by closures on several threads.
final class ReviewCounter: Sendable {
    private let count = Atomic<Int>(0)
    func add() { count.wrappingAdd(1, ordering: .relaxed) }
    var value: Int { count.load(ordering: .relaxed) }
}

/// Counts once: when its job runs, or when the job is dropped unrun.
private final class SettleToken: Sendable {
    private let settled: ReviewCounter
    private let didRun = Atomic<Bool>(false)

    init(_ settled: ReviewCounter) {
        self.settled = settled
    }

    func ran() {
        if !didRun.exchange(true, ordering: .relaxed) { settled.add() }
    }

    deinit {
        if !didRun.load(ordering: .relaxed) { settled.add() }
    }
}

private func offThePoolVoid(_ work: @escaping @Sendable () -> Void) async {
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
        Thread.detachNewThread { work(); continuation.resume() }
    }
}

private func offThePoolValue<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread.detachNewThread { continuation.resume(returning: work()) }
    }
}
