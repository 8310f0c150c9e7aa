import RESP

/// Where Redis is and how the client talks to it.
///
/// ```swift
/// var configuration = try RedisConfiguration(url: "redis://lockd:secret@10.0.0.5:6379/2")
/// configuration.commandTimeout = .milliseconds(250)
/// let client = RedisClient(configuration: configuration, eventLoopGroup: group, logger: logger)
/// ```
public struct RedisConfiguration: Sendable, CustomStringConvertible {
    /// Host name or IP address (IPv6 without brackets).
    public var host: String
    /// TCP port; 6379 by default.
    public var port: UInt16
    /// ACL user name for `AUTH`/`HELLO`; nil uses the `default` user.
    public var username: String?
    /// Password for `AUTH`/`HELLO`; nil when Redis needs none. Never logged.
    public var password: String?
    /// Database index selected with `SELECT` on every connection; 0 by default.
    public var database: Int
    /// Longest wait for a TCP connection and its handshake (`HELLO`, `AUTH`,
    /// `SELECT`); 1 s by default. An attempt that takes longer counts as a
    /// failure and the client backs off.
    public var connectTimeout: Duration
    /// Longest wait for any reply, measured from when the command is
    /// submitted; 500 ms by default, so that callers learn within a second
    /// that Redis is gone. A command that times out closes its connection
    /// (the late reply must never reach a later caller).
    public var commandTimeout: Duration
    /// Connections each event loop keeps to Redis; commands from many
    /// callers are pipelined on each. 1 by default.
    public var connectionsPerLoop: Int
    /// First wait before reconnecting after a failed attempt; 50 ms by default.
    /// Each further failure doubles it, up to ``maximumReconnectDelay``, with
    /// jitter. While waiting, commands fail at once as unreachable.
    public var initialReconnectDelay: Duration
    /// Longest wait between reconnection attempts; 1 s by default, so a Redis
    /// that comes back is used again within about a second.
    public var maximumReconnectDelay: Duration
    /// How often the pub/sub connection sends `PING` while it has
    /// subscriptions; 1 s by default. A connection that carries no commands
    /// would otherwise not notice a Redis that hangs or a network that drops
    /// packets, and wake-ups would silently stop.
    public var pubSubHealthCheckInterval: Duration
    /// Name set with `CLIENT SETNAME` (visible in `CLIENT LIST`); nil sets none.
    public var clientName: String?
    /// Whether to ask for RESP3 with `HELLO 3` first; the client falls back to
    /// RESP2 when the server does not know it. True by default.
    public var prefersRESP3: Bool
    /// Bounds on replies, so a corrupt or hostile stream cannot exhaust memory.
    public var limits: RESPLimits
    /// TLS for every connection (a `rediss://` URL); nil speaks plain TCP.
    /// The server's certificate is always verified.
    public var tls: TLSClientConfiguration?

    /// A configuration for `host:port` with every other setting at its default.
    public init(host: String = "127.0.0.1", port: UInt16 = 6379, username: String? = nil, password: String? = nil, database: Int = 0) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.connectTimeout = .seconds(1)
        self.commandTimeout = .milliseconds(500)
        self.connectionsPerLoop = 1
        self.initialReconnectDelay = .milliseconds(50)
        self.maximumReconnectDelay = .seconds(1)
        self.pubSubHealthCheckInterval = .seconds(1)
        self.clientName = "lockd"
        self.prefersRESP3 = true
        self.limits = RESPLimits()
        self.tls = nil
    }

    /// Reads `redis://[[user]:password@]host[:port][/db]`, or `rediss://…` for
    /// TLS (verified against the system's trusted authorities until ``tls`` says otherwise).
    ///
    /// User and password may be percent-encoded.
    /// - Throws: ``RedisError`` of kind `invalidConfiguration` saying what is wrong
    ///   (never repeating the password).
    public init(url: String) throws(RedisError) {
        let parts = try RedisURL(parsing: url)
        self.init(host: parts.host, port: parts.port, username: parts.username, password: parts.password, database: parts.database)
        self.tls = parts.usesTLS ? TLSClientConfiguration() : nil
    }

    /// The address without credentials, for logs.
    public var description: String {
        let user = username.map { "\($0)@" } ?? (password == nil ? "" : "<password>@")
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return "\(tls == nil ? "redis" : "rediss")://\(user)\(shownHost):\(port)/\(database)"
    }
}

/// The pieces of a `redis://` URL.
struct RedisURL {
    var host: String
    var port: UInt16 = 6379
    var username: String?
    var password: String?
    var database = 0
    var usesTLS = false

    init(parsing url: String) throws(RedisError) {
        let rest: Substring
        if url.hasPrefix("redis://") {
            rest = url.dropFirst("redis://".count)
        } else if url.hasPrefix("rediss://") {
            rest = url.dropFirst("rediss://".count)
            usesTLS = true
        } else {
            throw invalid("a Redis URL starts with redis:// (or rediss:// for TLS)")
        }
        guard !rest.contains("?"), !rest.contains("#") else {
            throw invalid("query and fragment are not supported in a Redis URL")
        }
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        var authority = rest[..<slash]
        let path = rest[slash...].dropFirst()
        if let at = authority.lastIndex(of: "@") {
            let userinfo = authority[..<at]
            authority = authority[authority.index(after: at)...]
            guard let colon = userinfo.firstIndex(of: ":") else {
                throw invalid("credentials must be user:password@ or :password@")
            }
            let user = try percentDecoded(userinfo[..<colon])
            username = user.isEmpty ? nil : user
            password = try percentDecoded(userinfo[userinfo.index(after: colon)...])
        }
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw invalid("unclosed [ in the host") }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw invalid("unexpected text after the IPv6 address") }
                port = try parsePort(after.dropFirst())
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon])
            port = try parsePort(authority[authority.index(after: colon)...])
        } else {
            host = String(authority)
        }
        guard !host.isEmpty else { throw invalid("the URL names no host") }
        if !path.isEmpty {
            guard let number = Int(path), number >= 0 else { throw invalid("the database must be a number, as in redis://host:6379/0") }
            database = number
        }
    }
}

private func parsePort(_ text: Substring) throws(RedisError) -> UInt16 {
    guard let port = UInt16(text), port > 0 else { throw invalid("the port must be a number from 1 to 65535") }
    return port
}

private func percentDecoded(_ text: Substring) throws(RedisError) -> String {
    var bytes: [UInt8] = []
    var iterator = text.utf8.makeIterator()
    while let byte = iterator.next() {
        guard byte == UInt8(ascii: "%") else {
            bytes.append(byte)
            continue
        }
        guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
            throw invalid("bad percent-encoding in the credentials")
        }
        bytes.append(high << 4 | low)
    }
    return String(decoding: bytes, as: UTF8.self)
}

private func hexValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
    default: nil
    }
}

private func invalid(_ message: String) -> RedisError {
    RedisError(.invalidConfiguration, message: message)
}
