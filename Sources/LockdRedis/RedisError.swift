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

        /// Redis answered with an error reply (`-ERR`, `-WRONGTYPE`, `-NOPERM`,
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
        /// The bytes from Redis were not valid RESP or broke a limit.
        public static let protocolViolation = Kind("protocolViolation")
        /// The caller's task was cancelled while waiting.
        public static let cancelled = Kind("cancelled")
        /// The client has been shut down.
        public static let shutDown = Kind("shutDown")
        /// The configuration (such as the URL) is not usable.
        public static let invalidConfiguration = Kind("invalidConfiguration")

        public var description: String { name }
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
        default:
            return RedisError(.refused, code: code, message: message)
        }
    }

    /// Whether the caller should tell its own client that the service is
    /// unavailable for now (HTTP 503): Redis is unreachable, slow, in a
    /// transient state, out of memory, or the client is shutting down.
    public var isServerUnavailable: Bool {
        switch kind {
        case .unreachable, .timeout, .retryable, .authenticationFailed, .protocolViolation, .shutDown: true
        case .refused: code == "OOM"
        default: false
        }
    }

    public var description: String {
        "Redis \(kind): \(message)"
    }
}
