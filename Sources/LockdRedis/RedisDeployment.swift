/// How the Redis behind a ``RedisConfiguration`` is deployed, which decides
/// where the client sends each command.
///
/// ```swift
/// var configuration = RedisConfiguration()
/// configuration.deployment = .cluster(seeds: [RedisEndpoint(host: "10.0.0.7", port: 7001)])
/// ```
public enum RedisDeployment: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    /// One server at the configuration's ``RedisConfiguration/host`` and ``RedisConfiguration/port``.
    case server
    /// A master watched by Redis Sentinel: the client asks the sentinels
    /// where it is, and follows it when they fail it over.
    case sentinel(RedisSentinelSettings)
    /// A Redis Cluster: the client learns which master serves which hash slot
    /// from any of `seeds` (or a node it already knows) and sends each
    /// command to the master of its key's slot.
    case cluster(seeds: [RedisEndpoint])

    public var description: String {
        switch self {
        case .server: "server"
        case .sentinel(let settings): "sentinel(\(settings))"
        case .cluster(let seeds): "cluster(\(seeds.map(\.description).joined(separator: ",")))"
        }
    }

    public var debugDescription: String { description }
}

/// Where the sentinels are, which master to ask them for, and how to log in
/// to them. The master itself takes ``RedisConfiguration``'s user and password.
///
/// In a URL: `redis+sentinel://[user:password@]host:port[,host:port…]/MASTER[/db]`,
/// with `?sentinel_username=…&sentinel_password=…` (percent-encoded) when the
/// sentinels require credentials of their own.
public struct RedisSentinelSettings: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The name the sentinels monitor the master under (`sentinel monitor NAME …`).
    public var masterName: String
    /// The sentinels, asked in turn; 26379 is their usual port.
    public var sentinels: [RedisEndpoint]
    /// ACL user for the sentinels; nil uses the `default` user.
    public var username: String?
    /// Password for the sentinels (`requirepass` in sentinel.conf); nil when
    /// they need none. Never logged.
    public var password: String?

    /// Creates sentinel settings.
    public init(masterName: String, sentinels: [RedisEndpoint], username: String? = nil, password: String? = nil) {
        self.masterName = masterName
        self.sentinels = sentinels
        self.username = username
        self.password = password
    }

    /// The master's name and the sentinels, without credentials.
    public var description: String {
        let credentials = password == nil ? "" : " with a password"
        return "\(masterName) via \(sentinels.map(\.description).joined(separator: ","))\(credentials)"
    }

    public var debugDescription: String { description }
}
