import LockdAPI
import LockdAuth
import LockdRedis
import LockdTransport
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// lockd's resolved settings: flag, then environment, then config file, then default.
struct Settings {
    enum LogFormat: String { case text, json }

    var listen = "127.0.0.1:7070"
    var redisURL: String?
    var redisTLS = TLSClientConfiguration()
    /// HTTPS for lockd's own clients; nil serves plaintext HTTP.
    var tls: TLSServerConfiguration?
    var maxWaitMs: Int64 = 60_000
    var logLevel = Logger.Level.info
    var logFormat = LogFormat.text
    /// `--auth-file`: the file of clients and grants; nil serves everyone.
    var authFile: String?
    /// The auth file's rules as read at start.
    var authPolicy: AccessPolicy?
    /// Sizing, timeouts and the access log.
    var operations = Operations()

    /// A setting that cannot be used, named as the user wrote it.
    struct Invalid: Error, CustomStringConvertible {
        var description: String
    }

    init(flags: LockdCommand, environment: [String: String]) throws {
        let configPath = flags.config ?? environment["LOCKD_CONFIG"]
        let file = try configPath.map(Self.readConfigFile) ?? [:]
        func value(_ flag: String?, _ key: String) -> String? {
            flag ?? environment[key] ?? file[key]
        }
        if let listen = value(flags.listen, "LOCKD_LISTEN") {
            guard let colon = listen.lastIndex(of: ":"), UInt16(listen[listen.index(after: colon)...]) != nil else {
                throw Invalid(description: "--listen / LOCKD_LISTEN must be HOST:PORT, got '\(listen)'")
            }
            // Resolved now, so that a missing or unknown host is a bad setting, not a failure to listen.
            do {
                _ = try SocketAddress(parsing: listen)
            } catch {
                throw Invalid(description: "--listen / LOCKD_LISTEN: \(error)")
            }
            self.listen = listen
        }
        var redisUsesTLS = false
        if let url = value(flags.redis, "LOCKD_REDIS_URL") {
            // Set but empty is a mistake (a variable meant to be filled in),
            // not a request for the in-memory store: instances so configured
            // would each hand out the same lock.
            guard !url.isEmpty else {
                throw Invalid(description: """
                    --redis / LOCKD_REDIS_URL is set but empty: give a redis:// or rediss:// URL, or unset it \
                    to run with the in-memory store (one process, not durable)
                    """)
            }
            // Parsed here so that the message names the setting; the
            // parser's messages never repeat the password.
            do {
                redisUsesTLS = try RedisConfiguration(url: url).tls != nil
            } catch {
                throw Invalid(description: "--redis / LOCKD_REDIS_URL is not a usable Redis URL: \(error.message)")
            }
            self.redisURL = url
        }
        let tlsFiles = [
            value(flags.redisTLSCAFile, "LOCKD_REDIS_TLS_CA_FILE"), value(flags.redisTLSCertFile, "LOCKD_REDIS_TLS_CERT_FILE"),
            value(flags.redisTLSKeyFile, "LOCKD_REDIS_TLS_KEY_FILE"),
        ].map { $0?.isEmpty == true ? nil : $0 }
        redisTLS = TLSClientConfiguration(caFile: tlsFiles[0], certificateFile: tlsFiles[1], privateKeyFile: tlsFiles[2])
        if redisUsesTLS {
            // Read the files now: a wrong path stops lockd here, not at every reconnect.
            do {
                _ = try TLSClientContext(configuration: redisTLS)
            } catch {
                throw Invalid(description: "--redis-tls-* / LOCKD_REDIS_TLS_*: \(error.message)")
            }
        } else if tlsFiles.contains(where: { $0 != nil }) {
            throw Invalid(description: "--redis-tls-* / LOCKD_REDIS_TLS_* apply to a rediss:// (or rediss+sentinel://, rediss+cluster://) URL only; --redis / LOCKD_REDIS_URL is not one")
        }
        tls = try Self.serverTLS(
            certificate: value(flags.tlsCertFile, "LOCKD_TLS_CERT_FILE"), key: value(flags.tlsKeyFile, "LOCKD_TLS_KEY_FILE"),
            clientCA: value(flags.tlsClientCAFile, "LOCKD_TLS_CLIENT_CA_FILE"))
        if let path = value(flags.authFile, "LOCKD_AUTH_FILE") {
            guard !path.isEmpty else {
                throw Invalid(description: "--auth-file / LOCKD_AUTH_FILE is set but empty: give the auth file's path, or unset it to serve without auth")
            }
            // Read now: a bad file stops lockd, naming the file, the line and the field.
            do {
                authPolicy = try AuthFile.load(path: path)
            } catch {
                throw Invalid(description: "--auth-file / LOCKD_AUTH_FILE: \(error.message)")
            }
            authFile = path
        }
        maxWaitMs = try Self.integer(value(flags.maxWaitMs, "LOCKD_MAX_WAIT_MS"), "--max-wait-ms / LOCKD_MAX_WAIT_MS", in: 0...3_600_000)
            ?? maxWaitMs
        if let text = value(flags.logLevel, "LOCKD_LOG_LEVEL") {
            guard let level = Logger.Level(rawValue: text.lowercased()) else {
                throw Invalid(description: "--log-level / LOCKD_LOG_LEVEL must be trace, debug, info, notice, warning, error or critical, got '\(text)'")
            }
            self.logLevel = level
        }
        if let text = value(flags.logFormat, "LOCKD_LOG_FORMAT") {
            guard let format = LogFormat(rawValue: text.lowercased()) else {
                throw Invalid(description: "--log-format / LOCKD_LOG_FORMAT must be text or json, got '\(text)'")
            }
            self.logFormat = format
        }
        operations = try Self.operations(flags, value)
    }

    /// The names a config file may set (LOCKD_CONFIG itself is not one of them).
    static let fileKeys: Set<String> = Set([
        "LOCKD_LISTEN", "LOCKD_REDIS_URL", "LOCKD_REDIS_TLS_CA_FILE", "LOCKD_REDIS_TLS_CERT_FILE", "LOCKD_REDIS_TLS_KEY_FILE",
        "LOCKD_TLS_CERT_FILE", "LOCKD_TLS_KEY_FILE", "LOCKD_TLS_CLIENT_CA_FILE", "LOCKD_AUTH_FILE",
        "LOCKD_MAX_WAIT_MS", "LOCKD_LOG_LEVEL", "LOCKD_LOG_FORMAT",
    ]).union(operationsFileKeys)

    /// HTTPS settings from the three TLS files (empty counts as unset); the
    /// files are read now, so a missing, unreadable or mismatched one stops
    /// lockd at start with the flag that names it.
    static func serverTLS(certificate: String?, key: String?, clientCA: String?) throws -> TLSServerConfiguration? {
        let (certificate, key, clientCA) = (certificate.nonEmpty, key.nonEmpty, clientCA.nonEmpty)
        let certificateFlag = "--tls-cert-file / LOCKD_TLS_CERT_FILE"
        let keyFlag = "--tls-key-file / LOCKD_TLS_KEY_FILE"
        let clientCAFlag = "--tls-client-ca-file / LOCKD_TLS_CLIENT_CA_FILE"
        switch (certificate, key) {
        case (nil, nil):
            guard clientCA == nil else {
                throw Invalid(description: "\(clientCAFlag) needs \(certificateFlag) and \(keyFlag): client certificates are checked over TLS only")
            }
            return nil
        case (nil, _?):
            throw Invalid(description: "\(keyFlag) needs \(certificateFlag) too")
        case (_?, nil):
            throw Invalid(description: "\(certificateFlag) needs \(keyFlag) too")
        case (let certificate?, let key?):
            let configuration = TLSServerConfiguration(certificateFile: certificate, privateKeyFile: key, clientCAFile: clientCA)
            do {
                _ = try TLSServerContext(configuration: configuration)
            } catch {
                let flag = switch error.file {
                case certificate: certificateFlag
                case key: keyFlag
                case clientCA: clientCAFlag
                default: "\(certificateFlag), \(keyFlag)"
                }
                throw Invalid(description: "\(flag): \(error.message)")
            }
            return configuration
        }
    }

    /// Reads `LOCKD_NAME=value` lines; blank lines and `#` comments are skipped.
    /// An unknown name fails, so a misspelt setting is not silently ignored.
    static func readConfigFile(_ path: String) throws -> [String: String] {
        guard let file = fopen(path, "r") else {
            throw Invalid(description: "--config / LOCKD_CONFIG: cannot read '\(path)': \(String(cString: strerror(errno)))")
        }
        defer { fclose(file) }
        var values: [String: String] = [:]
        var lineNumber = 0
        var buffer = [CChar](repeating: 0, count: 4096)
        while fgets(&buffer, Int32(buffer.count), file) != nil {
            lineNumber += 1
            let line = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                .trimmingWhitespace()
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let equals = line.firstIndex(of: "="), line.hasPrefix("LOCKD_") else {
                throw Invalid(description: "--config \(path):\(lineNumber): expected LOCKD_NAME=value")
            }
            let key = String(line[..<equals]).trimmingWhitespace()
            guard fileKeys.contains(key) else {
                throw Invalid(description: "--config \(path):\(lineNumber): unknown setting '\(key)' (known: \(fileKeys.sorted().joined(separator: ", ")))")
            }
            var value = String(line[line.index(after: equals)...]).trimmingWhitespace()
            if value.count >= 2, value.first == "\"", value.last == "\"" { value = String(value.dropFirst().dropLast()) }
            values[key] = value
        }
        // fgets also ends on a read error (a directory, an I/O error): not an empty file.
        guard ferror(file) == 0 else {
            throw Invalid(description: "--config / LOCKD_CONFIG: cannot read '\(path)': \(String(cString: strerror(errno)))")
        }
        return values
    }
}

/// The process environment as a dictionary.
enum Environment {
    static var current: [String: String] {
        var values: [String: String] = [:]
        var pointer = environ
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "=") {
                values[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            pointer += 1
        }
        return values
    }
}

extension Optional<String> {
    /// nil for an empty value: a setting given as empty is not set.
    var nonEmpty: String? {
        guard let self, !self.isEmpty else { return nil }
        return self
    }
}

extension String {
    func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        return String(drop(while: isSpace).reversed().drop(while: isSpace).reversed())
    }
}
