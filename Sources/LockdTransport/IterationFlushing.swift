/// An owner on an event loop that holds its output back and sends it once
/// per loop iteration, after the iteration's events, timers and jobs have
/// run: what they all queued then leaves in one write (see
/// ``EventLoop/flushAfterIteration(_:)``).
///
/// ```swift
/// final class Connection: IterationFlushing {
///     func commandQueued() {
///         guard !flushScheduled else { return }
///         flushScheduled = true
///         loop.flushAfterIteration(self)
///     }
///     func flushAfterIteration() {
///         flushScheduled = false
///         send(queued)
///     }
/// }
/// ```
public protocol IterationFlushing: AnyObject {
    /// Sends what was queued (on the loop's thread, once per request made
    /// with ``EventLoop/flushAfterIteration(_:)``).
    func flushAfterIteration()
}
