/// Capped exponential backoff with jitter between reconnection attempts.
///
/// The n-th consecutive failure waits a random time between half and all of
/// `min(maximum, initial × 2ⁿ)`, so a fleet of lockd instances that lost
/// Redis together does not reconnect in lockstep.
struct ReconnectBackoff: Sendable {
    let initial: Duration
    let maximum: Duration
    private var random: SplitMix64

    init(initial: Duration, maximum: Duration, seed: UInt64) {
        self.initial = initial
        self.maximum = max(initial, maximum)
        self.random = SplitMix64(seed: seed)
    }

    /// The wait before the next attempt after `failures` consecutive failures (≥ 1).
    mutating func delay(afterFailures failures: Int) -> Duration {
        let doublings = min(max(failures - 1, 0), 30)
        let uncapped = initial * (1 << doublings)
        let ceiling = min(uncapped, maximum)
        let fraction = 0.5 + 0.5 * random.nextUnit()
        return ceiling * fraction
    }
}

/// A tiny seeded generator: jitter needs no cryptographic strength, and a
/// seed makes the state machine's tests repeatable.
struct SplitMix64: Sendable {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var value = state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return value ^ (value >> 31)
    }

    /// A value in [0, 1).
    mutating func nextUnit() -> Double {
        Double(next() >> 11) / Double(1 << 53)
    }
}
