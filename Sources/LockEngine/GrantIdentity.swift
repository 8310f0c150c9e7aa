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
