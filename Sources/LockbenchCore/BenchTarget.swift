/// Where lockbench sends its requests: the parts of an `http://` or `https://` URL.
///
/// ```swift
/// let target = try BenchTarget(url: "http://127.0.0.1:7070")
/// target.host        // "127.0.0.1"
/// target.port        // 7070
/// target.basePath    // "" (a URL such as http://lb/lockd gives "/lockd")
/// try BenchTarget(url: "https://lockd.internal").isTLS   // true, port 443
/// ```
public struct BenchTarget: Sendable, Equatable {
    /// The host as written in the URL, without IPv6 brackets.
    public let host: String
    /// The TCP port (80 when the URL names none).
    public let port: UInt16
    /// A path prefix put before `/locks/…`, without a trailing slash; empty for none.
    public let basePath: String
    /// Whether the URL is `https://`.
    public let isTLS: Bool

    /// Parses `http://HOST[:PORT][/PATH]` or `https://…`.
    /// - Throws: ``BenchConfigError`` for other schemes, user info, a missing
    ///   host or a bad port.
    public init(url: String) throws(BenchConfigError) {
        let lowered = url.lowercased()
        let scheme: String
        if lowered.hasPrefix("http://") {
            scheme = "http://"
        } else if lowered.hasPrefix("https://") {
            scheme = "https://"
        } else {
            throw BenchConfigError("--url must start with http:// or https:// (lockbench speaks HTTP/1.1): \(url)")
        }
        isTLS = scheme == "https://"
        let rest = url.dropFirst(scheme.count)
        let authority = rest.prefix { $0 != "/" }
        var path = String(rest.dropFirst(authority.count))
        while path.hasSuffix("/") { path.removeLast() }
        guard !authority.contains("@") else { throw BenchConfigError("--url must not carry user info: \(url)") }
        var host = Substring(authority)
        var portText: Substring?
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { throw BenchConfigError("unclosed '[' in --url: \(url)") }
            let after = host[host.index(after: close)...]
            if after.hasPrefix(":") { portText = after.dropFirst() } else if !after.isEmpty {
                throw BenchConfigError("unexpected text after ']' in --url: \(url)")
            }
            host = host[host.index(after: host.startIndex)..<close]
        } else if let colon = host.lastIndex(of: ":") {
            portText = host[host.index(after: colon)...]
            host = host[..<colon]
        }
        guard !host.isEmpty else { throw BenchConfigError("--url has no host: \(url)") }
        var port: UInt16 = isTLS ? 443 : 80
        if let portText {
            guard let parsed = UInt16(portText), parsed > 0 else { throw BenchConfigError("bad port in --url: \(url)") }
            port = parsed
        }
        self.host = String(host)
        self.port = port
        self.basePath = path
    }

    /// The value of the `Host` header for requests to this target.
    public var hostHeader: String {
        let bracketed = host.contains(":") ? "[\(host)]" : host
        return port == (isTLS ? 443 : 80) ? bracketed : "\(bracketed):\(port)"
    }
}
