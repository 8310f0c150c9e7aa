import ArgumentParser
import LockEngine
import LockdAPI
import LockdHTTP
import LockdRedis
import Logging

/// `lockd`: the lock service's executable. Configuration and wiring only.
@main
struct LockdCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lockd",
        abstract: "A distributed lock service that speaks HTTP.",
        usage: """
            lockd [--listen <host:port>] [--redis <url>] [<server options>]   (runs the server)
              lockd <subcommand> [<name>] [<options>]                            (a client of a running lockd)
            """,
        discussion: """
            Every setting is read from, in order: its flag, its environment variable, \
            the --config file (lines of LOCKD_NAME=value, # comments), then its default.
            """,
        version: LockdVersion.current,
        subcommands: [NewClientCommand.self, ExecCommand.self, AcquireCommand.self, RenewCommand.self, ReleaseCommand.self, StatusCommand.self, ListCommand.self]
    )

    @Option(name: .long, help: "Address to listen on, HOST:PORT (env LOCKD_LISTEN; default 127.0.0.1:7070).")
    var listen: String?

    @Option(name: .long, help: ArgumentHelp(
        "Redis URL: redis://[user:password@]host:port[/db]; redis+sentinel://[user:password@]host:port[,host:port…]/MASTER[/db][?sentinel_password=…]; redis+cluster://[user:password@]host:port[,host:port…]; rediss… for TLS (env LOCKD_REDIS_URL; default: none — leases kept in this process only, not durable, not shared).",
        valueName: "url"))
    var redis: String?

    @Option(name: .customLong("redis-tls-ca-file"), help: ArgumentHelp(
        "For rediss://: PEM file of the CAs that may sign Redis's certificate (env LOCKD_REDIS_TLS_CA_FILE; default: the system's).",
        valueName: "file"))
    var redisTLSCAFile: String?

    @Option(name: .customLong("redis-tls-cert-file"), help: ArgumentHelp(
        "For rediss://: PEM client certificate, for a Redis that requires one (env LOCKD_REDIS_TLS_CERT_FILE; default: none).",
        valueName: "file"))
    var redisTLSCertFile: String?

    @Option(name: .customLong("redis-tls-key-file"), help: ArgumentHelp(
        "For rediss://: PEM private key of the client certificate (env LOCKD_REDIS_TLS_KEY_FILE; default: none).",
        valueName: "file"))
    var redisTLSKeyFile: String?

    @Option(name: .customLong("tls-cert-file"), help: ArgumentHelp(
        "PEM certificate (and chain) to serve HTTPS with, together with its key file; reloaded on SIGHUP (env LOCKD_TLS_CERT_FILE; default: none — plain HTTP).",
        valueName: "file"))
    var tlsCertFile: String?

    @Option(name: .customLong("tls-key-file"), help: ArgumentHelp(
        "PEM private key of the TLS certificate, unencrypted; reloaded on SIGHUP (env LOCKD_TLS_KEY_FILE; default: none).",
        valueName: "file"))
    var tlsKeyFile: String?

    @Option(name: .customLong("tls-client-ca-file"), help: ArgumentHelp(
        "PEM CAs whose client certificates are required (mTLS); reloaded on SIGHUP (env LOCKD_TLS_CLIENT_CA_FILE; default: none — no client certificates asked).",
        valueName: "file"))
    var tlsClientCAFile: String?

    @Option(name: .customLong("auth-file"), help: ArgumentHelp(
        "JSON file of clients (id, SHA-256 of a secret, grants of lock/read/admin on name patterns) that requests must name with Authorization: Bearer SECRET; reloaded on SIGHUP; see lockd new-client (env LOCKD_AUTH_FILE; default: none — every client may do everything).",
        valueName: "file"))
    var authFile: String?

    // Numbers are read `.unconditional`ly, so that `--max-wait-ms -5` is a
    // bad value (named, exit 64), not a missing one followed by a flag `-5`.
    @Option(name: .customLong("max-wait-ms"), parsing: .unconditional,
            help: "Longest wait_ms a client may ask for (env LOCKD_MAX_WAIT_MS; default 60000).")
    var maxWaitMs: String?

    @Option(name: .customLong("durability"), help: ArgumentHelp(
        "primary or replicated: acquires and renewals that name no durability are answered once the Redis primary has them, or only once a replica acknowledged them too (env LOCKD_DURABILITY; default primary; replicated needs --redis).",
        valueName: "durability"))
    var durability: String?

    @Option(name: .customLong("replication-timeout-ms"), parsing: .unconditional,
            help: "How long a replicated grant or renewal waits for a Redis replica's acknowledgement before it is undone and answered 503 (env LOCKD_REPLICATION_TIMEOUT_MS; default 500).")
    var replicationTimeoutMs: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (env LOCKD_LOG_LEVEL; default info).")
    var logLevel: String?

    @Option(name: .customLong("log-format"), help: "text or json (env LOCKD_LOG_FORMAT; default text).")
    var logFormat: String?

    @Option(name: .customLong("event-loops"), parsing: .unconditional, help: ArgumentHelp(
        "Threads serving HTTP and Redis (env LOCKD_EVENT_LOOPS; default: one per CPU lockd may use — its affinity mask, capped by its cgroup CPU quota).",
        valueName: "n"))
    var eventLoops: String?

    @Option(name: .customLong("max-connections"), parsing: .unconditional, help: ArgumentHelp(
        "HTTP connections open at once, each waiting acquire holding one; past it new clients get 503 (env LOCKD_MAX_CONNECTIONS; default 16384).",
        valueName: "n"))
    var maxConnections: String?

    @Option(name: .customLong("max-ttl-ms"), parsing: .unconditional, help: ArgumentHelp(
        "Longest ttl_ms a client may ask for (env LOCKD_MAX_TTL_MS; default 86400000).", valueName: "n"))
    var maxTTLMs: String?

    @Option(name: .customLong("idle-timeout-ms"), parsing: .unconditional, help: ArgumentHelp(
        "How long a keep-alive connection may sit idle before lockd closes it (env LOCKD_IDLE_TIMEOUT_MS; default 60000).", valueName: "n"))
    var idleTimeoutMs: String?

    @Option(name: .customLong("drain-timeout-ms"), parsing: .unconditional, help: ArgumentHelp(
        "On SIGTERM, how long requests in flight may take to finish before their connections close (env LOCKD_DRAIN_TIMEOUT_MS; default 10000).",
        valueName: "n"))
    var drainTimeoutMs: String?

    @Flag(name: .customLong("access-log"), help: "Log one line per request: method, route, status, duration, request id (env LOCKD_ACCESS_LOG=true; default off).")
    var accessLog = false

    @Option(name: .long, help: "A file of LOCKD_NAME=value lines, used for settings given neither as a flag nor in the environment (env LOCKD_CONFIG; default: none).")
    var config: String?

    func run() async throws {
        let settings: Settings
        do {
            settings = try Settings(flags: self, environment: Environment.current)
        } catch {
            throw ValidationError("\(error)")
        }
        // The metadata provider adds the id of the request being served to
        // every line logged on its behalf, in every layer.
        LoggingSystem.bootstrap({ label, provider in
            var handler: any LogHandler = settings.logFormat == .json
                ? JSONLogHandler(label: label, metadataProvider: provider)
                : StreamLogHandler.standardError(label: label, metadataProvider: provider)
            handler.logLevel = settings.logLevel
            return handler
        }, metadataProvider: HTTPRequestLogMetadata.metadataProvider)
        let logger = Logger(label: "lockd")
        if let url = settings.redisURL { try await Self.checkRedis(url: url, settings: settings, logger: logger) }
        try await LockdApp(settings: settings, logger: logger).run()
    }

    /// One attempt at Redis before serving: a setting Redis refuses stops
    /// lockd (exit 64, naming the setting), since no retry can mend it; a
    /// Redis that is only unreachable is retried while lockd serves.
    static func checkRedis(url: String, settings: Settings, logger: Logger) async throws {
        var configuration = try RedisConfiguration(url: url)
        if configuration.tls != nil { configuration.tls = settings.redisTLS }
        let verdict = await RedisPreflight.check(configuration, channels: RedisLockBackend.channelProbes(for: configuration.deployment))
        // One server: one attempt says it all. Sentinels and clusters are
        // found over several connections that the client keeps retrying:
        // only an ACL that withholds lockd's channels, which no retry mends,
        // stops lockd there.
        if case .server = configuration.deployment {} else {
            guard case .refused(let error) = verdict, error.kind == .permissionDenied else { return }
        }
        switch verdict {
        case .ready:
            return
        case .unreachable(let error):
            logger.warning("Redis cannot be reached yet; serving 503 and retrying until it can", metadata: ["error": "\(error)"])
        case .refused(let error):
            logger.critical("\(setting(refusing: error)): \(error) — lockd cannot work with this setting")
            throw ExitCode(64)
        }
    }

    /// The setting to fix when Redis refuses lockd with `error`.
    static func setting(refusing error: RedisError) -> String {
        switch error.kind {
        case .databaseRejected: "--redis / LOCKD_REDIS_URL (its /database)"
        case .tlsMismatch: "--redis / LOCKD_REDIS_URL (redis:// or rediss://)"
        case .tlsVerificationFailed:
            "--redis-tls-ca-file / LOCKD_REDIS_TLS_CA_FILE (or --redis-tls-cert-file and --redis-tls-key-file), or the host of --redis / LOCKD_REDIS_URL"
        case .invalidConfiguration: "--redis-tls-* / LOCKD_REDIS_TLS_*"
        case .permissionDenied: "the ACL of the Redis user in --redis / LOCKD_REDIS_URL"
        default: "--redis / LOCKD_REDIS_URL (its user and password)"
        }
    }
}
