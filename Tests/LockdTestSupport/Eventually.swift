import LockdTransport

/// Polls `condition` until it holds or `timeout` passes, checking every
/// `interval`. Tests wait on conditions like this, never on bare sleeps, so
/// that a busy machine only makes them slower, not wrong.
///
/// ```swift
/// let drained = await eventually(within: .seconds(5)) { engine.waiterCount == 0 }
/// #expect(drained)
/// ```
/// Keep the closure out of `#expect`/`#require`: Swift 6.3.1 can give a closure
/// written inside a macro's argument, in a closure body, the same symbol as a later
/// closure of the same type, so one of the two conditions silently runs for both.
/// - Returns: whether the condition held in time.
public func eventually(
    within timeout: Duration = .seconds(5),
    every interval: Duration = .milliseconds(10),
    _ condition: () async throws -> Bool
) async rethrows -> Bool {
    try await timeUntil(within: timeout, every: interval, condition) != nil
}

/// Like ``eventually(within:every:_:)``, and tells how long the condition took.
/// - Returns: the time until it first held, or nil when it did not within `timeout`.
public func timeUntil(
    within timeout: Duration,
    every interval: Duration = .milliseconds(10),
    _ condition: () async throws -> Bool
) async rethrows -> Duration? {
    let start = ContinuousClock.now
    while true {
        if try await condition() { return ContinuousClock.now - start }
        guard ContinuousClock.now - start < timeout else { return nil }
        try? await Task.sleep(for: interval)
    }
}

/// Runs `body` until it stops throwing or `timeout` passes.
/// - Returns: its first result.
/// - Throws: its last error, once `timeout` has passed.
public func retrying<T>(within timeout: Duration, _ body: () async throws -> T) async throws -> T {
    let start = ContinuousClock.now
    while true {
        do {
            return try await body()
        } catch {
            if ContinuousClock.now - start > timeout { throw error }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}
