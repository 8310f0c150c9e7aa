import LockEngine
import LockdHTTP

extension LockError {
    /// The one place where lock failures become HTTP: RFC 9457 problems with
    /// the `type` values of PRODUCT.md, and `Retry-After` on 409 and 503.
    ///
    /// - Parameters:
    ///   - name: The lock the request was about, when it had a valid one: the
    ///     body's `name` member, and the `detail` of a 409, name it.
    ///   - waitedMs: How long an acquire waited (its `wait_ms`) before this
    ///     answer; a `lock-held` after a wait does not advise waiting.
    func response(name: LockName? = nil, waitedMs: Int64 = 0) -> HTTPResponse {
        let quoted = name.map { "lock \"\($0.value)\"" } ?? "the lock"
        switch self {
        case .invalidRequest(let detail):
            return Self.problem(.badRequest, "invalid-request", "Invalid request", detail, name: name)
        case .leaseLost:
            return Self.problem(.conflict, "lease-lost", "Lease lost",
                                "the token does not hold \(quoted): it was released, expired, or never held it", name: name)
        case .notHeld(let fence):
            return Self.problem(.notFound, "not-held", "Not held",
                                "no live lease of \(quoted) has fence \(fence): it was released, expired, or never issued", name: name)
        case .lockHeld(let holders, let retryAfterMs):
            let seconds = max(1, (retryAfterMs + 999) / 1_000)
            // No live holder but time to wait: a lease expired and its lock delay runs.
            let detail = switch (holders.isEmpty, waitedMs > 0) {
            case (true, _) where retryAfterMs > 0:
                "\(quoted) is unavailable until the lock delay of a lease that expired ends; retry after \(seconds) s (Retry-After)"
            case (true, false): "\(quoted) is free, but earlier waiters are served first; retry, or wait for it with wait_ms"
            case (true, true): "\(quoted) is free, but earlier waiters were still ahead after waiting \(waitedMs) ms; retry later"
            case (false, false): "\(quoted) is held by another lease; retry after \(seconds) s (Retry-After), or wait for it with wait_ms"
            case (false, true): "\(quoted) is still held after waiting \(waitedMs) ms; retry after \(seconds) s (Retry-After)"
            }
            return Self.problem(.conflict, "lock-held", "Lock held", detail, name: name,
                                headers: ["Retry-After": String(seconds)], holders: holders)
        case .limitMismatch(let limit):
            return Self.problem(.conflict, "limit-mismatch", "Limit mismatch",
                                "\(quoted) is in use with limit \(limit); acquire it with that limit, or wait until it is free",
                                name: name, limit: limit)
        case .unavailable(let detail):
            return Self.unavailableResponse(detail, name: name)
        case .cancelled:
            // The client is gone and will never read this.
            return Self.unavailableResponse("the request was cancelled", name: name)
        }
    }

    static func unavailableResponse(_ detail: String, name: LockName? = nil, extra: [(StaticString, String)] = []) -> HTTPResponse {
        problem(.serviceUnavailable, "unavailable", "Service unavailable", detail, name: name,
                headers: ["Retry-After": "1"], extra: extra)
    }

    private static func problem(
        _ status: HTTPStatus, _ type: String, _ title: String, _ detail: String, name: LockName?,
        headers: HTTPHeaders = [:], holders: [Holder]? = nil, limit: Int? = nil, extra: [(StaticString, String)] = []
    ) -> HTTPResponse {
        var json = JSONWriter()
        json.field("type", type)
        json.field("title", title)
        json.field("status", Int64(status.code))
        json.field("detail", detail)
        if let name { json.field("name", name.value) }
        if let holders { json.raw("holders", LockJSON.holders(holders)) }
        if let limit { json.field("limit", Int64(limit)) }
        for (key, value) in extra { json.field(key, value) }
        var headers = headers
        headers.add(name: "Content-Type", value: "application/problem+json")
        return HTTPResponse(status: status, headers: headers, body: json.bytes)
    }
}
