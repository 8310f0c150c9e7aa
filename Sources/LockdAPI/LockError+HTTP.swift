import LockEngine
import LockdHTTP

extension LockError {
    /// The one place where lock failures become HTTP: RFC 9457 problems with
    /// the `type` values of PRODUCT.md, and `Retry-After` on 409 and 503.
    var response: HTTPResponse {
        switch self {
        case .invalidRequest(let detail):
            return .problem(status: .badRequest, type: "invalid-request", title: "Invalid request", detail: detail)
        case .leaseLost:
            return .problem(status: .conflict, type: "lease-lost", title: "Lease lost",
                            detail: "this token does not hold the lock: it was released, expired, or never held it")
        case .lockHeld(let holders, let retryAfterMs):
            var json = JSONWriter()
            json.field("type", "lock-held")
            json.field("title", "Lock held")
            json.field("status", Int64(409))
            json.field("detail", holders.isEmpty
                ? "the lock is free but earlier waiters are served first; retry or wait"
                : "the lock is held by another lease; retry after it expires or wait with wait_ms")
            json.raw("holders", LockJSON.holders(holders))
            let seconds = max(1, (retryAfterMs + 999) / 1_000)
            return HTTPResponse(status: .conflict, headers: [
                "Content-Type": "application/problem+json",
                "Retry-After": String(seconds),
            ], body: json.bytes)
        case .limitMismatch(let limit):
            var json = JSONWriter()
            json.field("type", "limit-mismatch")
            json.field("title", "Limit mismatch")
            json.field("status", Int64(409))
            json.field("detail", "this name is in use with limit \(limit); acquire it with that limit or wait until it is free")
            json.field("limit", Int64(limit))
            return HTTPResponse(status: .conflict, headers: ["Content-Type": "application/problem+json"], body: json.bytes)
        case .unavailable(let detail):
            return Self.unavailableResponse(detail)
        case .cancelled:
            // The client is gone and will never read this.
            return Self.unavailableResponse("the request was cancelled")
        }
    }

    static func unavailableResponse(_ detail: String) -> HTTPResponse {
        .problem(status: .serviceUnavailable, type: "unavailable", title: "Service unavailable", detail: detail,
                 headers: ["Retry-After": "1"])
    }
}
