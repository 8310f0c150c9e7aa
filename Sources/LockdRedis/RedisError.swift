/// Why a Redis call failed.
///
/// One struct for the whole module, so new kinds never break a caller's
/// `switch`; compare ``kind`` against the static members, or ask
/// ``isServerUnavailable`` to decide between a 503 and other handling.
///
/// ```swift
/// do { _ = try await client.send(["GET", "k"]) }
/// catch where error.isServerUnavailable { /* answer 503 */ }
/// catch where error.kind == .refused { /* a bug or bad data: error.code is e.g. "WRONGTYPE" */ }
/// ```
public struct RedisError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The class of failure.
    public struct Kind: Sendable, Hashable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// Redis answered with an error reply (`-ERR`, `-WRONGTYPE`,
        /// `-OOM`, `-NOSCRIPT`, …); the command did not run.
        public static let refused = Kind("refused")
        /// Redis cannot serve now but may soon (`-LOADING`, `-BUSY`, `-TRYAGAIN`,
        /// `-READONLY`, `-MASTERDOWN`, `-CLUSTERDOWN`), or the connection was
        /// lost before the command was written: the command did not run and
        /// may be sent again.
        public static let retryable = Kind("retryable")
        /// No connection to Redis: connecting failed, the client is waiting to
        /// reconnect, or the connection was lost after the command was written
        /// (so it may or may not have run).
        public static let unreachable = Kind("unreachable")
        /// No reply within the command timeout; the command may have run.
        public static let timeout = Kind("timeout")
        /// Redis rejected the configured credentials, or requires some.
        public static let authenticationFailed = Kind("authenticationFailed")
        /// Redis refused to select the configured database (an index past
        /// its `databases` setting, or `SELECT` not allowed).
        public static let databaseRejected = Kind("databaseRejected")
        /// Redis's TLS certificate failed verification (an unknown CA, a name
        /// that does not match the host, an expired certificate).
        public static let tlsVerificationFailed = Kind("tlsVerificationFailed")
        /// TLS spoken to a plaintext port (`rediss://` to a `redis://` server)
        /// or plaintext to a TLS port.
        public static let tlsMismatch = Kind("tlsMismatch")
        /// The bytes from Redis were not valid RESP or broke a limit.
        public static let protocolViolation = Kind("protocolViolation")
        /// The caller's task was cancelled while waiting.
        public static let cancelled = Kind("cancelled")
        /// The client has been shut down.
        public static let shutDown = Kind("shutDown")
        /// The configuration (such as the URL) is not usable.
        public static let invalidConfiguration = Kind("invalidConfiguration")
        /// Redis's ACL does not let the configured user run a command or use
        /// a key or channel (`-NOPERM`); the command did not run.
        public static let permissionDenied = Kind("permissionDenied")

        public var description: String { name }

        /// What this kind of failure is, in words for people (logs, `/readyz`).
        var phrase: String {
            switch self {
            case .refused: "Redis refused the command"
            case .retryable: "Redis cannot serve now"
            case .unreachable: "Redis is unreachable"
            case .timeout: "Redis did not answer in time"
            case .authenticationFailed: "Redis refused the credentials"
            case .databaseRejected: "Redis refused the database"
            case .tlsVerificationFailed: "Redis's TLS certificate failed verification"
            case .tlsMismatch: "TLS and plaintext do not match"
            case .protocolViolation: "Redis broke the protocol"
            case .cancelled: "the call was cancelled"
            case .shutDown: "the Redis client is shut down"
            case .permissionDenied: "Redis's ACL does not allow it"
            default: "the Redis settings are unusable"
            }
        }
    }

    /// The class of failure.
    public let kind: Kind
    /// The error code Redis sent (the first word of its reply, such as
    /// `"WRONGTYPE"`), or nil when the failure did not come from Redis.
    public let code: String?
    /// A human-readable explanation; never contains a password.
    public let message: String

    /// Creates an error.
    public init(_ kind: Kind, code: String? = nil, message: String) {
        self.kind = kind
        self.code = code
        self.message = message
    }

    /// Classifies an error reply such as `"LOADING Redis is loading the dataset"`.
    public static func reply(_ message: String) -> RedisError {
        let code = String(message.prefix { $0 != " " })
        switch code {
        case "LOADING", "BUSY", "TRYAGAIN", "READONLY", "MASTERDOWN", "CLUSTERDOWN":
            return RedisError(.retryable, code: code, message: message)
        case "WRONGPASS", "NOAUTH":
            return RedisError(.authenticationFailed, code: code, message: message)
        case "NOPERM":
            return RedisError(.permissionDenied, code: code, message: message)
        default:
            return RedisError(.refused, code: code, message: message)
        }
    }

    /// Whether Redis (or the configuration) refuses lockd in a way that no
    /// retry can mend until a setting changes: credentials, the database
    /// index, a certificate that fails verification, TLS against plaintext,
    /// unusable TLS files, an ACL that withholds what lockd needs.
    public var needsSettingsFixed: Bool {
        switch kind {
        case .authenticationFailed, .databaseRejected, .tlsVerificationFailed, .tlsMismatch, .invalidConfiguration, .permissionDenied: true
        default: false
        }
    }

    /// Whether the caller should tell its own client that the service is
    /// unavailable for now (HTTP 503): Redis is unreachable, slow, in a
    /// transient state, out of memory, or the client is shutting down.
    public var isServerUnavailable: Bool {
        switch kind {
        case .unreachable, .timeout, .retryable, .authenticationFailed, .databaseRejected, .tlsVerificationFailed,
             .tlsMismatch, .protocolViolation, .shutDown, .invalidConfiguration, .permissionDenied: true
        case .refused: code == "OOM"
        default: false
        }
    }

    /// The kind in words, then the message: never an internal name.
    public var description: String {
        "\(kind.phrase): \(message)"
    }
}
