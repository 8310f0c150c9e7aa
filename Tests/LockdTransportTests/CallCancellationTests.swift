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
}
