import Foundation
import LockdTestSupport
import Testing

/// lockd's settings: flag > environment > config file > default; `--help`
/// documents them; a bad one stops lockd at start with a message naming it;
/// the Redis password is never logged.
@Suite struct ConfigurationTests {
    @Test func helpDocumentsEverySettingWithItsEnvironmentNameAndDefault() async throws {
        let (termination, output) = try await LockdProcess.runToExit(["--help"])
        #expect(termination == .exited(0))
        // The option list, with the help's line wrapping collapsed.
        let options = output.components(separatedBy: "OPTIONS:").last ?? ""
        let help = options.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        let settings = [
            ("--listen", "LOCKD_LISTEN", "default 127.0.0.1:7070"),
            ("--redis", "LOCKD_REDIS_URL", "default: none"),
            ("--redis-tls-ca-file", "LOCKD_REDIS_TLS_CA_FILE", "default: the system's"),
            ("--redis-tls-cert-file", "LOCKD_REDIS_TLS_CERT_FILE", "default: none"),
            ("--redis-tls-key-file", "LOCKD_REDIS_TLS_KEY_FILE", "default: none"),
            ("--tls-cert-file", "LOCKD_TLS_CERT_FILE", "default: none"),
            ("--tls-key-file", "LOCKD_TLS_KEY_FILE", "default: none"),
            ("--tls-client-ca-file", "LOCKD_TLS_CLIENT_CA_FILE", "default: none"),
            ("--max-wait-ms", "LOCKD_MAX_WAIT_MS", "default 60000"),
            ("--durability", "LOCKD_DURABILITY", "default primary"),
            ("--replication-timeout-ms", "LOCKD_REPLICATION_TIMEOUT_MS", "default 500"),
            ("--log-level", "LOCKD_LOG_LEVEL", "default info"),
            ("--log-format", "LOCKD_LOG_FORMAT", "default text"),
            ("--event-loops", "LOCKD_EVENT_LOOPS", "default: one per CPU lockd may use"),
            ("--max-connections", "LOCKD_MAX_CONNECTIONS", "default 16384"),
            ("--max-ttl-ms", "LOCKD_MAX_TTL_MS", "default 86400000"),
            ("--idle-timeout-ms", "LOCKD_IDLE_TIMEOUT_MS", "default 60000"),
            ("--drain-timeout-ms", "LOCKD_DRAIN_TIMEOUT_MS", "default 10000"),
            ("--config", "LOCKD_CONFIG", "default: none"),
        ]
        for (flag, variable, defaultText) in settings {
            guard let start = help.firstRange(of: "\(flag) <") else {
                Issue.record("--help does not list \(flag): \(help)")
                continue
            }
            // The setting's own entry: up to the next option.
            let entry = help[start.upperBound...].components(separatedBy: " --").first ?? ""
            #expect(entry.contains(variable), "\(flag) does not name \(variable): \(entry)")
            #expect(entry.contains(defaultText), "\(flag) does not give its default: \(entry)")
        }
        #expect(help.contains("--access-log") && help.contains("LOCKD_ACCESS_LOG"), "\(help)")
        #expect(help.contains("--version"))
    }

    @Test func versionPrintsTheVersion() async throws {
        let (termination, output) = try await LockdProcess.runToExit(["--version"])
        #expect(termination == .exited(0))
        #expect(output.trimmingCharacters(in: .whitespacesAndNewlines) == "0.1.0", "\(output)")
    }

    @Test func aFlagBeatsTheEnvironmentWhichBeatsTheConfigFile() async throws {
        let file = try ConfigFile("""
            # lockd settings
            LOCKD_LISTEN=127.0.0.3:0
            LOCKD_MAX_WAIT_MS=3000
            LOCKD_LOG_FORMAT="json"
            """)
        // Flag, environment and file each set the address; environment and file set max-wait.
        let all = try await LockdProcess.start(["--listen", "127.0.0.1:0"], environment: [
            "LOCKD_CONFIG": file.path, "LOCKD_LISTEN": "127.0.0.2:0", "LOCKD_MAX_WAIT_MS": "2000",
        ], listen: nil)
        #expect(all.host == "127.0.0.1")
        try await expectMaxWait(all, 2_000)
        #expect(all.output.contains(#""msg":"lockd listening""#), "the file's log format was not used: \(all.output)")
        await all.stop()

        // Without the flag the environment wins; the file fills in the rest.
        let noFlag = try await LockdProcess.start([], environment: [
            "LOCKD_CONFIG": file.path, "LOCKD_LISTEN": "127.0.0.2:0",
        ], listen: nil)
        #expect(noFlag.host == "127.0.0.2")
        try await expectMaxWait(noFlag, 3_000)
        await noFlag.stop()

        // --config names the file as LOCKD_CONFIG does; a flag still beats the environment.
        let configFlag = try await LockdProcess.start(["--config", file.path, "--max-wait-ms", "1000"], environment: [
            "LOCKD_MAX_WAIT_MS": "2000",
        ], listen: nil)
        #expect(configFlag.host == "127.0.0.3")
        try await expectMaxWait(configFlag, 1_000)
        await configFlag.stop()
    }

    @Test(arguments: [
        BadSetting(["--listen", "nonsense"], names: "--listen"),
        BadSetting(["--listen", "127.0.0.1:99999"], names: "--listen"),
        BadSetting(["--listen", "999.1.1.1:80"], names: "--listen"),
        BadSetting(["--redis", "redis://:hunter2-secret@127.0.0.1:port"], names: "--redis"),
        BadSetting(["--redis", "redis://:hunter2-secret@127.0.0.1:6379/notadb"], names: "--redis"),
        BadSetting(["--redis", "http://127.0.0.1:6379"], names: "--redis"),
        BadSetting(["--redis", "redis://127.0.0.1:6379", "--redis-tls-ca-file", "/etc/ssl/certs/ca-certificates.crt"], names: "rediss://"),
        BadSetting(["--redis", "rediss://127.0.0.1:6379", "--redis-tls-ca-file", "/nonexistent/ca.pem"], names: "/nonexistent/ca.pem"),
        BadSetting([], environment: ["LOCKD_REDIS_URL": "rediss://127.0.0.1:6379", "LOCKD_REDIS_TLS_CERT_FILE": "/nonexistent/client.pem"],
                   names: "LOCKD_REDIS_TLS_"),
        BadSetting(["--max-wait-ms", "abc"], names: "--max-wait-ms"),
        BadSetting(["--max-wait-ms=-5"], names: "--max-wait-ms"),
        BadSetting(["--max-wait-ms", "-5"], names: "--max-wait-ms"),
        BadSetting(["--listen", ":17073"], names: "--listen"),
        BadSetting(["--listen", "no-such-host.invalid:7070"], names: "--listen"),
        BadSetting([], environment: ["LOCKD_REDIS_URL": ""], names: "set but empty"),
        BadSetting(["--redis", ""], names: "set but empty"),
        BadSetting([], configFile: "LOCKD_REDIS_URL=", names: "set but empty"),
        BadSetting(["--event-loops", "0"], names: "--event-loops"),
        BadSetting(["--max-connections", "lots"], names: "--max-connections"),
        BadSetting(["--max-ttl-ms", "50"], names: "--max-ttl-ms"),
        BadSetting(["--idle-timeout-ms", "-1"], names: "--idle-timeout-ms"),
        BadSetting(["--drain-timeout-ms", "1h"], names: "--drain-timeout-ms"),
        BadSetting([], environment: ["LOCKD_ACCESS_LOG": "maybe"], names: "LOCKD_ACCESS_LOG"),
        BadSetting([], configFile: "LOCKD_EVENT_LOOPS=0", names: "LOCKD_EVENT_LOOPS"),
        BadSetting(["--log-level", "loud"], names: "--log-level"),
        BadSetting(["--durability", "eventually"], names: "--durability"),
        BadSetting(["--durability", "replicated"], names: "in-memory store has no replicas"),
        BadSetting([], environment: ["LOCKD_DURABILITY": "replicated"], names: "LOCKD_DURABILITY"),
        BadSetting(["--replication-timeout-ms", "0"], names: "--replication-timeout-ms"),
        BadSetting(["--log-format", "xml"], names: "--log-format"),
        BadSetting([], environment: ["LOCKD_MAX_WAIT_MS": "abc"], names: "LOCKD_MAX_WAIT_MS"),
        BadSetting([], environment: ["LOCKD_LOG_LEVEL": "loud"], names: "LOCKD_LOG_LEVEL"),
        BadSetting(["--config", "/nonexistent/lockd.conf"], names: "--config"),
        BadSetting(["--config", "/tmp"], names: "--config"),
        BadSetting([], configFile: "LOCKD_REDIS_URL=redis://:hunter2-secret@127.0.0.1:0", names: "LOCKD_REDIS_URL"),
        BadSetting([], configFile: "LOCKD_LISTN=127.0.0.1:0", names: "LOCKD_LISTN"),
        BadSetting([], configFile: "listen 127.0.0.1:0", names: "--config"),
    ])
    func aBadSettingStopsLockdAtStartAndIsNamed(setting: BadSetting) async throws {
        let file = try setting.configFile.map(ConfigFile.init)
        var arguments = setting.arguments
        if let file { arguments += ["--config", file.path] }
        // Should lockd wrongly accept the setting, it must not take the default port.
        if !arguments.contains(where: { $0.hasPrefix("--listen") }) { arguments += ["--listen", "127.0.0.1:0"] }
        let (termination, output) = try await LockdProcess.runToExit(arguments, environment: setting.environment, timeout: .seconds(5))
        guard case .exited(let status) = termination else {
            Issue.record("lockd did not exit by itself: \(String(describing: termination)): \(output)")
            return
        }
        #expect(status == 64, "a bad setting exits 64 (EX_USAGE), like every other: \(output)")
        #expect(output.contains(setting.names), "the message does not name \(setting.names): \(output)")
        #expect(!output.contains("hunter2-secret"), "the message repeats the password: \(output)")
    }

    @Test func anAddressInUseStopsLockdWithAMessageNamingListen() async throws {
        let first = try await LockdProcess.start([])
        let (termination, output) = try await LockdProcess.runToExit(["--listen", "\(first.host):\(first.port)"], timeout: .seconds(5))
        #expect(termination != nil && termination != .exited(0), "\(String(describing: termination))")
        #expect(output.contains("--listen"), "\(output)")
        await first.stop()
    }

    @Test(arguments: ["text", "json"])
    func theRedisPasswordNeverAppearsInLogsAtTrace(format: String) async throws {
        let password = "pw-\(UInt64.random(in: 0...UInt64.max))"
        let redis = try await offThePool { try RedisServerFixture.start(arguments: ["--requirepass", password]) }
        let secretURL = "redis://:\(password)@127.0.0.1:\(redis.port)"
        let lockd = try await LockdProcess.start(["--redis", secretURL, "--log-level", "trace", "--log-format", format])
        #expect(try await servesEveryCall(lockd))
        // An outage and a reconnect log the most about the connection.
        try await offThePool { redis.kill() }
        _ = try await LockCall.status.send(to: lockd, name: uniqueLockName(), token: "")
        try await offThePool { try redis.restart() }
        let servesAfterReconnect = try await eventually(within: .seconds(5)) { try await servesEveryCall(lockd) }
        #expect(servesAfterReconnect)
        await lockd.stop()
        // The same password, wrong for this server: lockd stops at start, and says why.
        let (termination, refusedOutput) = try await LockdProcess.runToExit(
            ["--log-level", "trace", "--log-format", format, "--listen", "127.0.0.1:0"],
            environment: ["LOCKD_REDIS_URL": "redis://:\(password)-wrong@127.0.0.1:\(redis.port)"])
        #expect(termination == .exited(64))
        try await offThePool { redis.stop() }

        #expect(lockd.output.split(separator: "\n").count >= 5, "too little was logged to prove anything: \(lockd.output)")
        #expect(refusedOutput.contains("user name or password"), "the refusal is not explained: \(refusedOutput)")
        for output in [lockd.output, refusedOutput] {
            #expect(!output.contains(password), "a log line carries the Redis password")
        }
    }

    @Test func aRedissURLWithACAFileAndAClientCertificateServesLocks() async throws {
        let certificates = try TestCertificates.shared()
        let redis = try await offThePool {
            try RedisServerFixture.start(tls: RedisServerFixture.TLS(certificates: certificates, requiresClientCertificates: true))
        }
        let url = try #require(redis.tlsURL)
        let file = try ConfigFile("LOCKD_REDIS_TLS_KEY_FILE=\(certificates.clientKeyFile)")
        let lockd = try await LockdProcess.start(
            ["--redis", url, "--redis-tls-ca-file", certificates.caFile, "--config", file.path],
            environment: ["LOCKD_REDIS_TLS_CERT_FILE": certificates.clientCertificateFile])
        let ready = try await eventually(within: .seconds(5)) { try await lockd.request("GET", "/readyz").status == 200 }
        #expect(ready)
        #expect(try await servesEveryCall(lockd))
        await lockd.stop()
        // Without the CA file, the system's authorities do not vouch for the
        // test CA: a setting to fix, so lockd stops at start and says why.
        let (termination, untrusting) = try await LockdProcess.runToExit(["--redis", url, "--listen", "127.0.0.1:0"], environment: [
            "LOCKD_REDIS_TLS_CERT_FILE": certificates.clientCertificateFile, "LOCKD_REDIS_TLS_KEY_FILE": certificates.clientKeyFile,
        ])
        try await offThePool { redis.stop() }
        #expect(termination == .exited(64))
        #expect(untrusting.contains("not trusted"), "the log does not say why: \(untrusting)")
    }

    private func expectMaxWait(_ lockd: LockdProcess, _ limit: Int, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let name = uniqueLockName()
        let over = try await lockd.request("POST", "/locks/\(name)", body: #"{"wait_ms":\#(limit + 1)}"#)
        #expect(over.status == 400, sourceLocation: sourceLocation)
        #expect((over.json["detail"] as? String ?? "").contains("\(limit)"), "\(over.text)", sourceLocation: sourceLocation)
    }
}

/// A setting lockd must refuse at start.
struct BadSetting: Sendable, CustomTestStringConvertible {
    var arguments: [String]
    var environment: [String: String] = [:]
    var configFile: String?
    /// What the message must name.
    var names: String

    init(_ arguments: [String], environment: [String: String] = [:], configFile: String? = nil, names: String) {
        self.arguments = arguments
        self.environment = environment
        self.configFile = configFile
        self.names = names
    }

    var testDescription: String {
        (arguments + environment.map { "\($0.key)=\($0.value)" } + (configFile.map { ["file: \($0)"] } ?? [])).joined(separator: " ")
    }
}

/// A config file in a temporary directory, removed with this value.
final class ConfigFile: Sendable {
    let path: String

    init(_ contents: String) throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("lockd-\(UUID().uuidString).conf").path
        try contents.write(toFile: path, atomically: true, encoding: .utf8)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}
