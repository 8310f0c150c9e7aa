import LockdTestSupport
import Testing

/// Every lock call of the API, aimed at one name, for outage tests.
enum LockCall: String, CaseIterable, Sendable {
    case acquire, renew, release, status, list, readyz

    /// Sends this call; `token` is the Lock-Token for renew and release.
    func send(to lockd: LockdProcess, name: String, token: String) async throws -> Reply {
        switch self {
        case .acquire: try await lockd.request("POST", "/locks/\(name)", body: #"{"ttl_ms":30000}"#)
        case .renew: try await lockd.request("POST", "/locks/\(name)/renew", headers: ["Lock-Token": token])
        case .release: try await lockd.request("DELETE", "/locks/\(name)", headers: ["Lock-Token": token])
        case .status: try await lockd.request("GET", "/locks/\(name)")
        case .list: try await lockd.request("GET", "/locks?prefix=ops:")
        case .readyz: try await lockd.request("GET", "/readyz")
        }
    }

    /// Sends every call at once (a stalled store makes each take up to the
    /// command deadline; in sequence they would outlast a short stall).
    static func sendAll(to lockd: LockdProcess, name: String, token: String) async throws -> [(LockCall, Reply)] {
        try await withThrowingTaskGroup(of: (LockCall, Reply).self) { group in
            for call in allCases {
                group.addTask { (call, try await call.send(to: lockd, name: name, token: token)) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
    }
}

/// Words a 503's `detail` must not contain: it names no Redis internals.
private let internalWords = ["redis", "127.0.0.1", "errno", "refused", "evalsha", "noscript", "script", "lua",
                             "loading", "busy", "pause", "resp", "connection"]

/// Checks PRODUCT.md's 503: `type: unavailable`, a whole-second `Retry-After`,
/// a `detail` naming no internals (nor the Redis port), within `limit`.
func expectUnavailable(_ reply: Reply, _ call: LockCall, redisPort: UInt16, within limit: Duration,
                       sourceLocation: SourceLocation = #_sourceLocation) {
    let context = "\(call): \(reply.status) after \(reply.elapsed): \(reply.text)"
    #expect(reply.status == 503, "\(context)", sourceLocation: sourceLocation)
    #expect(reply.json["type"] as? String == "unavailable", "\(context)", sourceLocation: sourceLocation)
    #expect((Int(reply.header("Retry-After") ?? "") ?? 0) >= 1, "\(context)", sourceLocation: sourceLocation)
    let detail = (reply.json["detail"] as? String ?? "").lowercased()
    #expect(!detail.isEmpty, "\(context)", sourceLocation: sourceLocation)
    for word in internalWords + [String(redisPort)] {
        #expect(!detail.contains(word), "\(context): detail names '\(word)'", sourceLocation: sourceLocation)
    }
    #expect(reply.elapsed <= limit, "\(context)", sourceLocation: sourceLocation)
}

/// One full round of calls on a fresh name, in order; true when each got its
/// success status (acquire 201, renew 200, status 200, list 200, readyz 200, release 204).
func servesEveryCall(_ lockd: LockdProcess) async throws -> Bool {
    let name = uniqueLockName("round")
    let lease = try await lockd.request("POST", "/locks/\(name)", body: #"{"ttl_ms":30000}"#)
    guard lease.status == 201, let token = lease.json["token"] as? String else { return false }
    for (call, expected) in [(LockCall.renew, 200), (.status, 200), (.list, 200), (.readyz, 200), (.release, 204)] {
        guard try await call.send(to: lockd, name: name, token: token).status == expected else { return false }
    }
    return true
}

/// Waits until lockd serves every call again, then checks that it keeps
/// doing so (a second round hits every event loop's Redis connection again).
func expectRecovery(_ lockd: LockdProcess, within limit: Duration, sourceLocation: SourceLocation = #_sourceLocation) async throws {
    let recovered = try await eventually(within: limit) { try await servesEveryCall(lockd) }
    #expect(recovered, "lockd did not serve again within \(limit)", sourceLocation: sourceLocation)
    #expect(try await servesEveryCall(lockd), "lockd served once, then failed again", sourceLocation: sourceLocation)
}
