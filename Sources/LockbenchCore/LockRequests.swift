/// The two requests of a lock cycle, encoded as HTTP/1.1 bytes.
///
/// Acquire bodies are the same for every request of a run, so each name's
/// acquire is encoded once up front; a release carries the lease's token and
/// is encoded into a buffer the caller reuses.
///
/// ```swift
/// let requests = LockRequests(target: target, ttlMs: 30_000, waitMs: 0, limit: 4)
/// let acquire = requests.acquire(name: "orders:1")   // POST /locks/orders:1
/// var buffer: [UInt8] = []
/// requests.release(name: "orders:1", token: token, into: &buffer)
/// ```
public struct LockRequests: Sendable {
    private let pathPrefix: String
    private let host: String
    private let acquireTail: String
    /// `\r\nAuthorization: Bearer SECRET`, or empty without a token.
    private let authorization: String

    /// Prepares requests for `target` with the given acquire body fields;
    /// `limit`, `mode`, `durability` and `lock_delay_ms` are sent only when not the defaults; `authToken`,
    /// when given, goes with every request as `Authorization: Bearer`.
    public init(target: BenchTarget, ttlMs: Int, waitMs: Int, limit: Int = 1, shared: Bool = false, durability: String? = nil,
                lockDelayMs: Int = 0, authToken: String? = nil) {
        pathPrefix = target.basePath + "/locks/"
        host = target.hostHeader
        let authorization = authToken.map { "\r\nAuthorization: Bearer \($0)" } ?? ""
        self.authorization = authorization
        let body = #"{"ttl_ms":\#(ttlMs),"wait_ms":\#(waitMs)"# + (limit == 1 ? "" : #","limit":\#(limit)"#)
            + (shared ? #","mode":"shared""# : "") + (durability.map { #","durability":"\#($0)""# } ?? "")
            + (lockDelayMs == 0 ? "" : #","lock_delay_ms":\#(lockDelayMs)"#) + "}"
        acquireTail = " HTTP/1.1\r\nHost: \(host)\(authorization)\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
    }

    /// `POST /locks/{name}` with the run's JSON body. `name` must already be
    /// a valid lock name (no characters that need percent-encoding).
    public func acquire(name: String) -> [UInt8] {
        Array("POST \(pathPrefix)\(name)\(acquireTail)".utf8)
    }

    /// Replaces `buffer`'s contents with `DELETE /locks/{name}` carrying
    /// `Lock-Token: token`.
    public func release(name: String, token: String, into buffer: inout [UInt8]) {
        buffer.removeAll(keepingCapacity: true)
        buffer.append(contentsOf: "DELETE ".utf8)
        buffer.append(contentsOf: pathPrefix.utf8)
        buffer.append(contentsOf: name.utf8)
        buffer.append(contentsOf: " HTTP/1.1\r\nHost: ".utf8)
        buffer.append(contentsOf: host.utf8)
        buffer.append(contentsOf: authorization.utf8)
        buffer.append(contentsOf: "\r\nLock-Token: ".utf8)
        buffer.append(contentsOf: token.utf8)
        buffer.append(contentsOf: "\r\n\r\n".utf8)
    }
}
