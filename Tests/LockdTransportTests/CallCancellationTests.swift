import LockdTransport
import Synchronization
import Testing

/// What cancelling a call runs: the hook or target installed last, once.
@Suite struct CallCancellationTests {
    /// Counts the calls of its `callCancelled()`.
    private final class Target: CallCancellationTarget {
        let calls = Atomic<Int>(0)
        func callCancelled() { calls.add(1, ordering: .relaxed) }
    }

    @Test func cancellingCallsTheTargetInstalledLastOnceAndNotTheHookItReplaced() {
        let cancellation = CallCancellation()
        let hookCalls = Atomic<Int>(0)
        cancellation.onCancel { hookCalls.add(1, ordering: .relaxed) }
        let target = Target()
        cancellation.onCancel(target)
        cancellation.cancel()
        cancellation.cancel()
        #expect(target.calls.load(ordering: .relaxed) == 1)
        #expect(hookCalls.load(ordering: .relaxed) == 0)
        #expect(cancellation.isCancelled)
    }

    @Test func aHookInstalledAfterATargetReplacesIt() {
        let cancellation = CallCancellation()
        let target = Target()
        cancellation.onCancel(target)
        let hookCalls = Atomic<Int>(0)
        cancellation.onCancel { hookCalls.add(1, ordering: .relaxed) }
        cancellation.cancel()
        #expect(target.calls.load(ordering: .relaxed) == 0)
        #expect(hookCalls.load(ordering: .relaxed) == 1)
    }

    @Test func aTargetInstalledAfterTheCancelIsCalledAtOnce() {
        let cancellation = CallCancellation()
        cancellation.cancel()
        let target = Target()
        cancellation.onCancel(target)
        #expect(target.calls.load(ordering: .relaxed) == 1)
    }

    @Test func aCancelledCallLetsGoOfItsTarget() {
        let cancellation = CallCancellation()
        weak var released: Target?
        do {
            let target = Target()
            released = target
            cancellation.onCancel(target)
            cancellation.cancel()
        }
        #expect(released == nil)
    }

    @Test func aStepReplacedOrLeftUncancelledIsLetGo() {
        weak var replaced: Target?
        weak var left: Target?
        do {
            let cancellation = CallCancellation()
            do {
                let first = Target()
                replaced = first
                cancellation.onCancel(first)
            }
            do {
                let second = Target()
                left = second
                cancellation.onCancel(second)
            }
            // The replaced step is let go at once, the one installed last held.
            #expect(replaced == nil)
            #expect(left != nil)
        }
        // The cancellation freed uncancelled lets go of the step it held.
        #expect(left == nil)
    }

    /// Steps installed one after another on one thread while another
    /// cancels: whatever the interleaving, the steps that run are exactly
    /// a suffix of those installed — the one held when the cancel took it,
    /// and every later one (run at once by its installer) — each once.
    @Test func stepsInstalledAsTheCallIsCancelledRunAsASuffixEachOnce() async {
        final class Ran: Sendable { let indices = Mutex<[Int]>([]) }
        final class Step: CallCancellationTarget {
            let index: Int
            let ran: Ran
            init(_ index: Int, _ ran: Ran) { (self.index, self.ran) = (index, ran) }
            func callCancelled() { ran.indices.withLock { $0.append(index) } }
        }
        for round in 0..<200 {
            let cancellation = CallCancellation()
            let ran = Ran()
            let installer = Task.detached { () -> Int in
                var index = 0
                var after = 0
                while after < 3 {
                    if cancellation.isCancelled { after += 1 }
                    if (index + round) % 3 == 0 {
                        let own = index
                        cancellation.onCancel { ran.indices.withLock { $0.append(own) } }
                    } else {
                        cancellation.onCancel(Step(index, ran))
                    }
                    index += 1
                    if index % 64 == 0 { await Task.yield() }
                }
                return index
            }
            let canceller = Task.detached {
                for _ in 0..<(round % 7) * 10 { await Task.yield() }
                cancellation.cancel()
            }
            await canceller.value
            let installed = await installer.value
            let indices = ran.indices.withLock { $0 }
            let first = indices.min() ?? installed
            #expect(!indices.isEmpty, "round \(round): no step ran")
            #expect(indices.sorted() == Array(first..<installed), "round \(round): \(indices.count) ran of \(installed), from \(first)")
        }
    }
}
