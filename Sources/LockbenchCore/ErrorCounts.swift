/// Failures that are not an HTTP status: the connection or the bytes on it.
public struct ErrorCounts: Sendable, Equatable, Codable {
    /// Connections that could not be opened.
    public var connect = 0
    /// Connections the server closed or reset mid-request.
    public var closed = 0
    /// Responses that were not valid HTTP, or a 2xx acquire without a token.
    public var malformed = 0
    /// Requests that got no answer within `wait_ms` plus ten seconds.
    public var timeout = 0

    /// Creates zero counts.
    public init() {}

    /// All errors together.
    public var total: Int { connect + closed + malformed + timeout }

    /// Adds another set of counts to this one.
    public mutating func add(_ other: ErrorCounts) {
        connect += other.connect
        closed += other.closed
        malformed += other.malformed
        timeout += other.timeout
    }
}
