import Synchronization

/// The longest `wait_ms` one acquire request asks for: lockd refuses more than its
/// `--max-wait-ms`, so a longer wait is served by asking again.
///
/// Starts at lockd's default (60 s). When lockd refuses a wait as too long, the
/// limit it names in the problem's `detail` (`wait_ms must be between 0 and N`) is
/// remembered for the client's later acquires; a detail without a number halves it.
final class WaitLimit: Sendable {
    /// lockd's default `--max-wait-ms`.
    static let serverDefault = Duration.seconds(60)
    /// Below this, a refusal that names no limit is not taken for one.
    static let floor = Duration.milliseconds(100)

    private let limit = Mutex(WaitLimit.serverDefault)

    /// The longest wait to ask for now.
    var current: Duration { limit.withLock { $0 } }

    /// Learns from lockd's refusal of a request that asked to wait `asked`.
    ///
    /// - Parameter detail: The `invalid-request` problem's `detail`.
    /// - Returns: Whether the limit went down, so that asking again with the new
    ///   limit may succeed; `false` when the refusal was about something else.
    func lower(after asked: Duration, refusal detail: String) -> Bool {
        guard detail.contains("wait_ms") else { return false }
        let named = detail.split(whereSeparator: { !$0.isNumber }).last.flatMap { Int64($0) }.map(Duration.milliseconds)
        let next: Duration
        if let named {
            // A limit at or above what was asked means the refusal was about something else.
            guard named > .zero, named < asked else { return false }
            next = named
        } else {
            guard asked > Self.floor else { return false }
            next = asked / 2
        }
        return limit.withLock { limit in
            limit = min(limit, next)
            return limit < asked
        }
    }
}
