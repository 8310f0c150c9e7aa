/// The deadline of the request the current task sends, for a transport that
/// bounds its exchanges itself (``SocketTransport``, with a timer on its loop)
/// instead of ``withDeadline(_:_:)``'s timer task beside each request.
enum RequestDeadline {
    @TaskLocal static var current: ContinuousClock.Instant?
}

/// How long an event stream the current task opens may go without a byte
/// before ``SocketTransport`` ends its body with a failure (``LockEvents``
/// then reopens it); nil, the default, for no limit.
enum StreamSilence {
    @TaskLocal static var limit: Duration?
}

/// Thrown by ``withDeadline(_:_:)`` when the deadline comes first.
struct DeadlineExceeded: Error {}

/// Runs `operation`, cancelling it and throwing ``DeadlineExceeded`` if it has
/// not finished by `deadline`.
///
/// Cancelling the operation closes its HTTP request, which is how lockd learns
/// that a waiting client gave up.
func withDeadline<T: Sendable>(
    _ deadline: ContinuousClock.Instant,
    _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(until: deadline, clock: .continuous)
            return nil
        }
        defer { group.cancelAll() }
        // Both children are running, so `next()` returns the first to finish.
        guard let first = try await group.next(), let value = first else {
            throw DeadlineExceeded()
        }
        return value
    }
}
