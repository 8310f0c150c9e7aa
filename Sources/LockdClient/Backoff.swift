/// How long to wait before trying again a call that lockd could not serve: 50 ms
/// doubling up to 2 s, with jitter so that many clients do not come back at once,
/// and never sooner than lockd's `Retry-After`.
///
/// Callers cap the delay by their own budget (a wait's end, a lease's deadline).
struct Backoff: Sendable {
    /// The first delay.
    static let initial = Duration.milliseconds(50)
    /// The longest delay the backoff itself chooses (`Retry-After` may ask for more).
    static let ceiling = Duration.seconds(2)

    /// Failures since the last answer that was not a failure.
    private(set) var failures = 0

    /// The delay before the next attempt, counting one more failure.
    ///
    /// - Parameter retryAfter: lockd's `Retry-After`, if it sent one: the delay is at least this.
    /// - Returns: A delay between half and all of the exponential step, or `retryAfter`.
    mutating func next(retryAfter: Duration?) -> Duration {
        var generator = SystemRandomNumberGenerator()
        return next(retryAfter: retryAfter, using: &generator)
    }

    /// ``next(retryAfter:)`` with the jitter drawn from `generator`.
    mutating func next(retryAfter: Duration?, using generator: inout some RandomNumberGenerator) -> Duration {
        let step = min(Self.ceiling, Self.initial * (1 << min(failures, 16)))
        failures += 1
        let jittered = step / 2 + step / 2 * Double.random(in: 0...1, using: &generator)
        return max(jittered, retryAfter ?? .zero)
    }

    /// lockd answered (a grant, a renewal, a held lock): the next failure starts over at ``initial``.
    mutating func reset() {
        failures = 0
    }
}
