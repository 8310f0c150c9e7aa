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
    // Safe to share: its only state is the two atomics below (`step` only
    // ever exchanged whole, or read once the object is unshared in
    // `deinit`), and a subclass must be safe to share on its own terms.

    /// Set as the call is cancelled, before its step is taken.
    private let cancelled = Atomic<Bool>(false)

    /// What cancelling abandons: the step installed last (a target, or a
    /// hook in a ``Hook``), retained while held here. Atomics, not a
    /// `Mutex` around the flag and two optionals: a `Mutex`'s state was
    /// destroyed through its value witnesses as each call's cancellation
    /// (an HTTP promise a request) was freed, ~45 instructions, where this
    /// is a load.
    ///
    /// Installing and cancelling each exchange it whole, after setting
    /// their side (the step here, `cancelled` there) and before reading the
    /// other's, all sequentially consistent: whichever comes second sees
    /// the first, so a step installed as the call is cancelled is run
    /// exactly once — by ``cancel()``, or at once by its installer — and a
    /// step replaced before the cancel never runs.
    private let step = Atomic<Unmanaged<AnyObject>?>(nil)

    /// Creates one not cancelled.
    public init() {}

    /// Whether ``cancel()`` was called.
    open var isCancelled: Bool { cancelled.load(ordering: .acquiring) }

    /// Cancels, running the hook installed last (once); later calls do nothing.
    open func cancel() {
        // (A second cancel finds `step` empty, or holding a step installed
        // since — which its installer has seen cancelled and takes itself,
        // or this takes first: once either way.)
        cancelled.store(true, ordering: .sequentiallyConsistent)
        if let taken = step.exchange(nil, ordering: .sequentiallyConsistent) { Self.abandon(taken) }
    }

    /// Makes `hook` what cancelling does, in place of any earlier hook (the
    /// step it abandoned is over); runs it at once when already cancelled.
    open func onCancel(_ hook: @escaping @Sendable () -> Void) {
        // (A hook is installed by work that runs in a task, which allocates
        // more already: its box is one more.)
        install(Hook(hook))
    }

    /// ``onCancel(_:)`` for a step that is an object already: cancelling
    /// calls its ``CallCancellationTarget/callCancelled()``, with no closure
    /// made per step. The cancellation holds `target` until a later hook
    /// replaces it: a target must not keep what holds the cancellation
    /// alive once its step is over, or neither is ever freed.
    open func onCancel(_ target: any CallCancellationTarget) {
        install(target)
    }

    /// Makes `target` what cancelling runs, in place of any earlier step
    /// (released here); runs it at once when cancelled already.
    private func install(_ target: any CallCancellationTarget) {
        step.exchange(.passRetained(target), ordering: .sequentiallyConsistent)?.release()
        guard cancelled.load(ordering: .sequentiallyConsistent) else { return }
        if let taken = step.exchange(nil, ordering: .sequentiallyConsistent) { Self.abandon(taken) }
    }

    /// Runs a step taken out of `step` (whose reference it takes over).
    private static func abandon(_ taken: Unmanaged<AnyObject>) {
        // Only targets are ever installed: the cast finds one.
        (taken.takeRetainedValue() as? any CallCancellationTarget)?.callCancelled()
    }

    deinit {
        // No one else holds this object now: a plain load will do.
        step.load(ordering: .relaxed)?.release()
    }

    /// A cancellation hook as a ``CallCancellationTarget``, so that hooks
    /// and targets are kept in one place.
    private final class Hook: CallCancellationTarget {
        private let hook: @Sendable () -> Void
        init(_ hook: @escaping @Sendable () -> Void) { self.hook = hook }
        func callCancelled() { hook() }
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
