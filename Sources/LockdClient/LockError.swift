import Foundation

/// Every way a ``LockClient`` call or a ``Lease`` operation can fail, apart from
/// `CancellationError` when the calling task is cancelled.
///
/// Switch on it to decide what to do next:
///
/// ```swift
/// do {
///     let lease = try await locks.acquire("orders", ttl: .seconds(30), wait: .seconds(5))
///     // …
/// } catch let error as LockError {
///     switch error {
///     case .held(let holders, let retryAfter):
///         print("held by \(holders.first?.owner ?? "someone"); try again in \(retryAfter)")
///     case .limitMismatch(let limit):
///         print("the semaphore is in use with limit \(limit)")
///     case .leaseLost:
///         print("the lease ended before we were done")
///     case .invalidRequest(let detail):
///         print("fix the call: \(detail)")
///     case .unavailable(let retryAfter):
///         print("lockd cannot serve now; retry after \(retryAfter ?? .seconds(1))")
///     case .transport(let underlying):
///         print("could not talk to lockd: \(underlying)")
///     }
/// }
/// ```
public enum LockError: Error, Sendable {
    /// The lock is held by someone else, and stayed held for the whole `wait`.
    ///
    /// - Parameters:
    ///   - holders: Who holds it now (owner labels, fences, expiries; never tokens).
    ///   - retryAfter: How long until the current lease expires, in whole seconds, at least one.
    case held(holders: [LockHolder], retryAfter: Duration)

    /// The name is in use — held or waited on — with another `limit` than the
    /// acquire asked for: a semaphore's size is set by the first acquire on a
    /// free name, and every holder and waiter must agree on it.
    ///
    /// - Parameter limit: The name's current limit.
    case limitMismatch(limit: Int)

    /// The lease is gone: it expired before a renewal reached lockd, or lockd no
    /// longer knows its token (released, expired, or deleted behind the holder's back).
    ///
    /// Whoever holds a lost lease no longer owns the protected resource.
    case leaseLost

    /// No live lease of the name has the fence a force-release named: it was
    /// released, expired, or never issued.
    case notHeld(fence: Int64)

    /// lockd rejected the request as malformed; `detail` says what to fix
    /// (a bad lock name, a TTL out of range, a wait above the server's maximum, …).
    case invalidRequest(detail: String)

    /// lockd runs with `--auth-file` and the client sent no bearer token, or one
    /// lockd does not know: pass `bearerToken:` (a secret from `lockd new-client`).
    /// Never retried.
    case unauthorized(detail: String)

    /// The client's token is known but its grants do not cover this action on
    /// this name; `detail` names the client, the action and the name. Never retried.
    case forbidden(detail: String)

    /// lockd cannot serve right now (its store is unreachable, or it is shutting
    /// down), and kept answering so for longer than the call's budget (the SDK
    /// retries before it throws this). Retry after `retryAfter` when given.
    case unavailable(retryAfter: Duration?)

    /// The request did not get a usable answer: connection refused or reset, a
    /// timeout — for longer than the call's budget, as the SDK retries these —
    /// or a response that is not lockd's, or a URL or TLS setting that cannot work.
    case transport(any Error)
}

extension LockError: CustomStringConvertible {
    /// A one-line description for logs; it never contains a lease token.
    public var description: String {
        switch self {
        case .held(let holders, let retryAfter):
            let fences = holders.map { String($0.fence) }.joined(separator: ", ")
            return "lock held (fence \(fences)); retry after \(retryAfter)"
        case .limitMismatch(let limit):
            return "limit mismatch: the name is in use with limit \(limit)"
        case .leaseLost:
            return "lease lost"
        case .notHeld(let fence):
            return "no live lease has fence \(fence)"
        case .invalidRequest(let detail):
            return "invalid request: \(detail)"
        case .unauthorized(let detail):
            return "unauthorized: \(detail)"
        case .forbidden(let detail):
            return "forbidden: \(detail)"
        case .unavailable(let retryAfter):
            return "lockd unavailable" + (retryAfter.map { "; retry after \($0)" } ?? "")
        case .transport(let underlying):
            return "transport error: \(underlying)"
        }
    }
}
