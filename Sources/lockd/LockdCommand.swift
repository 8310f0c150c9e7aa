import ArgumentParser
import LockdAPI
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
        subcommands: [ExecCommand.self, AcquireCommand.self, RenewCommand.self, ReleaseCommand.self, StatusCommand.self, ListCommand.self]
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

    @Option(name: .customLong("max-wait-ms"), help: "Longest wait_ms a client may ask for (env LOCKD_MAX_WAIT_MS; default 60000).")
    var maxWaitMs: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (env LOCKD_LOG_LEVEL; default info).")
    var logLevel: String?

    @Option(name: .customLong("log-format"), help: "text or json (env LOCKD_LOG_FORMAT; default text).")
    var logFormat: String?

    @Option(name: .long, help: "A file of LOCKD_NAME=value lines, used for settings given neither as a flag nor in the environment (env LOCKD_CONFIG; default: none).")
    var config: String?

    func run() async throws {
        let settings: Settings
        do {
            settings = try Settings(flags: self, environment: Environment.current)
        } catch {
            throw ValidationError("\(error)")
        }
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler = settings.logFormat == .json
                ? JSONLogHandler(label: label) : StreamLogHandler.standardError(label: label)
            handler.logLevel = settings.logLevel
            return handler
        }
        let logger = Logger(label: "lockd")
        try await LockdApp(settings: settings, logger: logger).run()
    }
}
