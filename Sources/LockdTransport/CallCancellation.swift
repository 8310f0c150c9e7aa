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
public final class CallCancellation: Sendable {
    private let state = Mutex(State())

    /// A hook in a struct: a bare closure in a generic `Mutex` is
    /// reabstracted on every access.
    private struct State {
        var isCancelled = false
        var hook: (@Sendable () -> Void)?
    }

    /// Creates one not cancelled.
    public init() {}

    /// Whether ``cancel()`` was called.
    public var isCancelled: Bool { state.withLock { $0.isCancelled } }

    /// Cancels, running the hook installed last (once); later calls do nothing.
    public func cancel() {
        let hook = state.withLock { state -> (@Sendable () -> Void)? in
            guard !state.isCancelled else { return nil }
            state.isCancelled = true
            defer { state.hook = nil }
            return state.hook
        }
        hook?()
    }

    /// Makes `hook` what cancelling does, in place of any earlier hook (the
    /// step it abandoned is over); runs it at once when already cancelled.
    public func onCancel(_ hook: @escaping @Sendable () -> Void) {
        let cancelled = state.withLock { state -> Bool in
            if !state.isCancelled { state.hook = hook }
            return state.isCancelled
        }
        if cancelled { hook() }
    }
}
