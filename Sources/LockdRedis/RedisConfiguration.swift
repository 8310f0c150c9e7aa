import RESP

/// Where Redis is and how the client talks to it.
///
/// ```swift
/// var configuration = try RedisConfiguration(url: "redis://lockd:secret@10.0.0.5:6379/2")
/// configuration.commandTimeout = .milliseconds(250)
/// let client = RedisClient(configuration: configuration, eventLoopGroup: group, logger: logger)
/// ```
///
/// Sentinel and Cluster deployments come from their URLs too
/// (`redis+sentinel://…`, `redis+cluster://…`, see ``init(url:)``) or from
/// setting ``deployment``.
public struct RedisConfiguration: Sendable, CustomStringConvertible {
    /// One server, a Sentinel-watched master or a Cluster; ``RedisDeployment/server`` by default.
    public var deployment: RedisDeployment
    /// Host name or IP address (IPv6 without brackets) of the server; for
    /// Sentinel and Cluster, the first address of the URL (the client finds
    /// the real nodes itself).
    public var host: String
    /// TCP port of the server; 6379 by default.
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
    /// (the late reply must never reach a later caller). While replies keep
    /// arriving on its connection a command waits on, one more timeout at a
    /// time: Redis is answering, only busy (at most two timeouts pass
    /// before a silent Redis is given up).
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
    /// The server's certificate is always verified. With Sentinel, the
    /// sentinels are spoken to over TLS as well.
    public var tls: TLSClientConfiguration?
    /// How often a Sentinel or Cluster client checks the topology when
    /// nothing prompts it; 5 s by default. A redirect, a lost connection, a
    /// `-READONLY` reply or a Sentinel's `+switch-master` prompts a check at once.
    public var topologyRefreshInterval: Duration
    /// The longest `WAIT` a replicated call may ask for; 5 s by default.
    /// Replicated calls go over connections of their own whose command
    /// timeout is ``commandTimeout`` plus this, so that a `WAIT` never holds
    /// up other commands nor times its connection out.
    public var maximumReplicationWait: Duration

    /// A configuration for `host:port` with every other setting at its default.
    public init(host: String = "127.0.0.1", port: UInt16 = 6379, username: String? = nil, password: String? = nil, database: Int = 0) {
        self.deployment = .server
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
        self.topologyRefreshInterval = .seconds(5)
        self.maximumReplicationWait = .seconds(5)
    }

    /// Reads a Redis URL:
    ///
    /// - `redis://[user:password@]host[:port][/db]` — one server;
    /// - `redis+sentinel://[user:password@]host[:port][,host[:port]…]/MASTER[/db]`
    ///   — the master the sentinels at those addresses (port 26379 unless
    ///   given) know as MASTER; sentinels that require credentials of their
    ///   own take `?sentinel_password=…` (and `&sentinel_username=…`);
    /// - `redis+cluster://[user:password@]host[:port][,host[:port]…]` — a
    ///   Redis Cluster, found from any of those nodes.
    ///
    /// `rediss://`, `rediss+sentinel://` and `rediss+cluster://` speak TLS,
    /// verified against the system's trusted authorities until ``tls`` says
    /// otherwise. The user and password are the master's (or every cluster
    /// node's). Credentials, the master name and parameter values may be
    /// percent-encoded; a `@` in a password and `&` or `%` in a parameter
    /// value must be.
    ///
    /// ```swift
    /// let sentinel = try RedisConfiguration(url: "redis+sentinel://:secret@10.0.0.5,10.0.0.6,10.0.0.7/locks?sentinel_password=s%40nt")
    /// let cluster = try RedisConfiguration(url: "redis+cluster://:secret@10.0.1.1:7000,10.0.1.2:7000")
    /// ```
    ///
    /// - Throws: ``RedisError`` of kind `invalidConfiguration` saying what is
    ///   wrong and where, never repeating any part of the URL.
    public init(url: String) throws(RedisError) {
        let parts = try RedisURL(parsing: url)
        let first = parts.endpoints[0]
        self.init(host: first.host, port: first.port, username: parts.username, password: parts.password, database: parts.database)
        self.tls = parts.usesTLS ? TLSClientConfiguration() : nil
        switch parts.kind {
        case .server:
            deployment = .server
        case .sentinel:
            deployment = .sentinel(RedisSentinelSettings(
                masterName: parts.masterName ?? "", sentinels: parts.endpoints,
                username: parts.sentinelUsername, password: parts.sentinelPassword))
        case .cluster:
            deployment = .cluster(seeds: parts.endpoints)
        }
    }

    /// The address without credentials, for logs: the URL with any password
    /// replaced by `<password>`.
    public var description: String {
        let user = username.map { "\($0)@" } ?? (password == nil ? "" : "<password>@")
        let secure = tls == nil ? "" : "s"
        switch deployment {
        case .server:
            return "redis\(secure)://\(user)\(RedisEndpoint(host: host, port: port))/\(database)"
        case .sentinel(let settings):
            let sentinels = settings.sentinels.map(\.description).joined(separator: ",")
            let sentinelCredentials = settings.password == nil ? "" : "?sentinel_password=<password>"
            return "redis\(secure)+sentinel://\(user)\(sentinels)/\(settings.masterName)/\(database)\(sentinelCredentials)"
        case .cluster(let seeds):
            return "redis\(secure)+cluster://\(user)\(seeds.map(\.description).joined(separator: ","))"
        }
    }
}
