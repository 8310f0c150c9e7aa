import LockdTransport

extension Settings {
    /// How lockd is sized and run: the settings an operator matches to the
    /// machine and to the deploy files' limits. Each is a flag, an
    /// environment variable and a config-file key.
    struct Operations: Equatable {
        /// `--event-loops`: threads serving HTTP and Redis; by default one
        /// per CPU lockd may use (affinity mask and cgroup quota).
        var eventLoops = CPUAllowance.current()
        /// `--max-connections`: HTTP connections open at once (each waiting
        /// acquire holds one); past it a new client gets 503.
        var maxConnections = 16_384
        /// `--max-ttl-ms`: the longest `ttl_ms` a client may ask for.
        var maxTTLMs: Int64 = 86_400_000
        /// `--idle-timeout-ms`: how long a keep-alive connection may sit idle.
        var idleTimeoutMs: Int64 = 60_000
        /// `--drain-timeout-ms`: how long shutdown lets requests in flight finish.
        var drainTimeoutMs: Int64 = 10_000
        /// `--access-log`: one log line per request.
        var accessLog = false
    }

    /// The config-file keys of ``Operations``.
    static let operationsFileKeys: Set = [
        "LOCKD_EVENT_LOOPS", "LOCKD_MAX_CONNECTIONS", "LOCKD_MAX_TTL_MS", "LOCKD_IDLE_TIMEOUT_MS", "LOCKD_DRAIN_TIMEOUT_MS",
        "LOCKD_ACCESS_LOG",
    ]

    /// Reads ``Operations``; `value` gives a setting's text (flag, then
    /// environment, then config file).
    /// - Throws: ``Invalid`` naming the flag and variable of a bad value.
    static func operations(_ flags: LockdCommand, _ value: (String?, String) -> String?) throws -> Operations {
        var operations = Operations()
        if let loops = try integer(value(flags.eventLoops, "LOCKD_EVENT_LOOPS"), "--event-loops / LOCKD_EVENT_LOOPS", in: 1...1_024) {
            operations.eventLoops = Int(loops)
        }
        if let connections = try integer(value(flags.maxConnections, "LOCKD_MAX_CONNECTIONS"), "--max-connections / LOCKD_MAX_CONNECTIONS",
                                         in: 1...1_000_000) {
            operations.maxConnections = Int(connections)
        }
        operations.maxTTLMs = try integer(value(flags.maxTTLMs, "LOCKD_MAX_TTL_MS"), "--max-ttl-ms / LOCKD_MAX_TTL_MS",
                                          in: 100...86_400_000) ?? operations.maxTTLMs
        operations.idleTimeoutMs = try integer(value(flags.idleTimeoutMs, "LOCKD_IDLE_TIMEOUT_MS"), "--idle-timeout-ms / LOCKD_IDLE_TIMEOUT_MS",
                                               in: 100...86_400_000) ?? operations.idleTimeoutMs
        operations.drainTimeoutMs = try integer(value(flags.drainTimeoutMs, "LOCKD_DRAIN_TIMEOUT_MS"), "--drain-timeout-ms / LOCKD_DRAIN_TIMEOUT_MS",
                                                in: 0...3_600_000) ?? operations.drainTimeoutMs
        if flags.accessLog {
            operations.accessLog = true
        } else if let text = value(nil, "LOCKD_ACCESS_LOG") {
            switch text.trimmingWhitespace().lowercased() {
            case "1", "true", "yes", "on": operations.accessLog = true
            case "0", "false", "no", "off", "": operations.accessLog = false
            default: throw Invalid(description: "--access-log / LOCKD_ACCESS_LOG must be true or false, got '\(text)'")
            }
        }
        return operations
    }

    /// A whole number in `range`, or nil when the setting is not given.
    /// - Throws: ``Invalid`` naming `names`, the range and what was given.
    static func integer(_ text: String?, _ names: String, in range: ClosedRange<Int64>) throws -> Int64? {
        guard let text else { return nil }
        guard let number = Int64(text.trimmingWhitespace()), range.contains(number) else {
            throw Invalid(description: "\(names) must be a whole number from \(range.lowerBound) to \(range.upperBound), got '\(text)'")
        }
        return number
    }
}
