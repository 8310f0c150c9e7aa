import Synchronization

/// Cancels work that runs by callbacks on an event loop rather than in a
/// task: what a task's cancellation is to `async` code.
///
/// Whoever starts such work passes one along; each step that can be
/// abandoned (a Redis command in flight) installs what abandoning it means
/// with ``onCancel(_:)``. An `async` caller bridges its task's cancellation
/// to it with `withTaskCancellationHandler`.
///
/// ```swift
/// let cancellation = CallCancellation()
/// cancellation.onCancel { loop.execute { connection.cancel(id: id) } }
/// cancellation.cancel()   // runs the hook, once
/// ```
///
/// Open so that an object that is a call's cancellation and more (an HTTP
/// promise) is one allocation, not two.
open class CallCancellation: @unchecked Sendable {
    // Safe to share: its only state is the `Mutex` below, and a subclass
    // must be safe to share on its own terms.
    private let state = Mutex(State())

    /// A hook in a struct: a bare closure in a generic `Mutex` is
    /// reabstracted on every access. At most one of `hook` and `target` is set.
    private struct State {
        var isCancelled = false
        var hook: (@Sendable () -> Void)?
        var target: (any CallCancellationTarget)?
    }

    /// Creates one not cancelled.
    public init() {}

    /// Whether ``cancel()`` was called.
    open var isCancelled: Bool { state.withLock { $0.isCancelled } }

    /// Cancels, running the hook installed last (once); later calls do nothing.
    open func cancel() {
        let (hook, target) = state.withLock { state -> ((@Sendable () -> Void)?, (any CallCancellationTarget)?) in
            guard !state.isCancelled else { return (nil, nil) }
            state.isCancelled = true
            defer {
                state.hook = nil
                state.target = nil
            }
            return (state.hook, state.target)
        }
        hook?()
        target?.callCancelled()
    }

    /// Makes `hook` what cancelling does, in place of any earlier hook (the
    /// step it abandoned is over); runs it at once when already cancelled.
    open func onCancel(_ hook: @escaping @Sendable () -> Void) {
        let cancelled = state.withLock { state -> Bool in
            if !state.isCancelled {
                state.hook = hook
                state.target = nil
            }
            return state.isCancelled
        }
        if cancelled { hook() }
    }

    /// ``onCancel(_:)`` for a step that is an object already: cancelling
    /// calls its ``CallCancellationTarget/callCancelled()``, with no closure
    /// made per step. The cancellation holds `target` until a later hook
    /// replaces it: a target must not keep what holds the cancellation
    /// alive once its step is over, or neither is ever freed.
    open func onCancel(_ target: any CallCancellationTarget) {
        let cancelled = state.withLock { state -> Bool in
            if !state.isCancelled {
                state.hook = nil
                state.target = target
            }
            return state.isCancelled
        }
        if cancelled { target.callCancelled() }
    }

    /// Runs `work`, in a task started for the call (``startTask(_:)``),
    /// with what the call's caller binds for the tasks it starts: a caller
    /// that runs outside a task binds its task locals only for the tasks
    /// started for it (binding one outside a task costs an allocation per
    /// call). By default, nothing.
    open func inCallerContext(_ work: @Sendable () async -> Void) async {
        await work()
    }
}

extension CallCancellation {
    /// Runs `work` in a task of its own, for this call: cancelling the call
    /// cancels the task, and the task runs `work` within ``inCallerContext(_:)``.
    public final func startTask(_ work: @escaping @Sendable () async -> Void) {
        let task = Task { await inCallerContext(work) }
        onCancel { task.cancel() }
    }
}

/// A step of a ``CallCancellation``'s work that abandons itself when the
/// call is cancelled (see ``CallCancellation/onCancel(_:)-(CallCancellationTarget)``).
public protocol CallCancellationTarget: AnyObject, Sendable {
    /// The call was cancelled: abandon the step. Runs on the thread that
    /// cancelled, or at once on the one installing the target when the call
    /// was cancelled already.
    func callCancelled()
}
