/// What the in-memory store reads of an acquire attempt: an
/// ``AcquireAttempt`` (a waiter's, a callback's), or the request of an
/// at-once acquire read where it is (``RequestAttempt``).
///
/// The at-once acquire on the in-memory store is the one call that makes
/// an attempt only to hand it over: made, it copied the request's texts
/// (name, owner, client) and was destroyed after through its type's value
/// witness (~0.19 k instructions an acquire, a retain and a release a text).
protocol AttemptTerms {
    var name: LockName { get }
    var token: LeaseToken { get }
    var ttlMs: Int64 { get }
    var owner: String? { get }
    var waiter: WaiterID? { get }
    var mode: LockMode { get }
    var limit: Int { get }
    var client: String? { get }
    var durability: Durability { get }
    var lockDelayMs: Int64 { get }
    var nonce: AttemptNonce? { get }
}

extension AcquireAttempt: AttemptTerms {}

/// The first attempt of an acquire that does not wait, read from its
/// request where it is: the attempt ``LockEngine``'s `firstAttempt` makes,
/// without its copies. It joins no queue (`waiter` nil).
///
/// Holds the request and the token by their addresses: made only inside
/// `withUnsafePointer(to:)` on both, and used only for a call to the
/// store that keeps nothing of it beyond that call (what a lease keeps is
/// copied out of it), so neither address outlives its borrow. Its fields
/// all plain, it is copied as bytes: holding the token itself, it was
/// copied through its type's value witness wherever the store read a
/// field of it (~0.12 k instructions an acquire).
struct RequestAttempt: AttemptTerms {
    private let request: UnsafePointer<AcquireRequest>
    private let tokenAddress: UnsafePointer<LeaseToken>
    let nonce: AttemptNonce?
    let durability: Durability

    /// The attempt of `request` under `token` (both lent for the call),
    /// with `nonce` (see ``AcquireAttempt/nonce``) and its durability resolved.
    init(_ request: UnsafePointer<AcquireRequest>, token: UnsafePointer<LeaseToken>, nonce: AttemptNonce?, durability: Durability) {
        self.request = request
        self.tokenAddress = token
        self.nonce = nonce
        self.durability = durability
    }

    var token: LeaseToken { tokenAddress.pointee }
    var name: LockName { request.pointee.name }
    var ttlMs: Int64 { request.pointee.ttlMs }
    var owner: String? { request.pointee.owner }
    var waiter: WaiterID? { nil }
    var mode: LockMode { request.pointee.mode }
    var limit: Int { request.pointee.limit }
    var client: String? { request.pointee.client }
    var lockDelayMs: Int64 { request.pointee.lockDelayMs }
}
