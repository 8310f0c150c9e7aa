/// One acquire attempt's identity (``AcquireAttempt/nonce``): 63 random
/// bits, so that no two attempts under one token share it.
public struct AttemptNonce: Hashable, Sendable {
    /// Never negative (a store writes it as decimal digits).
    public let value: Int64

    init(_ value: Int64) { self.value = value }

    /// A fresh nonce, from the entropy pool (no system call).
    public static func random() -> AttemptNonce {
        var number: UInt64 = 0
        withUnsafeMutableBytes(of: &number) { EntropyPool.shared.fill($0) }
        return AttemptNonce(Int64(number >> 1))
    }
}

/// Which grant a give-back ends (``LockStore/giveBack(_:token:grant:evenIfClaimed:)``).
public enum GrantIdentity: Sendable, Hashable {
    /// The grant with this fence: its reply came.
    case fence(Int64)
    /// The grant the attempt with this nonce (``AcquireAttempt/nonce``)
    /// was answered with: its reply never came, so its fence is unknown.
    case attempt(AttemptNonce)
    /// Whichever lease the token holds: a token lockd made for a request
    /// it answers without a lease, which only that request's attempts knew.
    case any
}
