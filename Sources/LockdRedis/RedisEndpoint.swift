/// Where one Redis process listens: a server, a sentinel or a cluster node.
///
/// ```swift
/// let node = RedisEndpoint(host: "10.0.0.7", port: 7001)
/// print(node)   // 10.0.0.7:7001
/// ```
public struct RedisEndpoint: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Host name or IP address (IPv6 without brackets).
    public var host: String
    /// TCP port.
    public var port: UInt16

    /// Creates an endpoint.
    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    /// Reads `host:port` as Redis writes it in `MOVED`, `CLUSTER SLOTS` and
    /// Sentinel replies: the port after the last colon, IPv6 without brackets.
    /// - Parameter fallbackHost: the host to use when `text` has none (`:7001`),
    ///   which Redis sends to mean "the node you asked".
    init?(redisNotation text: Substring, fallbackHost: String) {
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]), port > 0 else { return nil }
        var host = text[..<colon]
        if host.hasPrefix("["), host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        self.init(host: host.isEmpty ? fallbackHost : String(host), port: port)
    }

    /// `host:port`, with IPv6 addresses in brackets.
    public var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// Orders by host, then port, so lists of nodes print and page stably.
    public static func < (lhs: RedisEndpoint, rhs: RedisEndpoint) -> Bool {
        (lhs.host, lhs.port) < (rhs.host, rhs.port)
    }
}
