import Synchronization

/// Counts the progress line reads once a second while loops update them.
final class LiveCounters: Sendable {
    /// Cycles completed in the window.
    let cycles = Atomic<Int>(0)
    /// Non-success statuses plus errors in the window.
    let failures = Atomic<Int>(0)
}
