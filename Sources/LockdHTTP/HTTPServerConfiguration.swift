import LockdTLS

/// Everything that shapes an ``HTTPServer``: where it listens and the limits
/// it holds every client to. Defaults follow lockd's product contract.
///
/// ```swift
/// var configuration = HTTPServerConfiguration(listenAddress: "127.0.0.1:0")
/// configuration.idleTimeout = .seconds(5)
/// ```
public struct HTTPServerConfiguration: Sendable {
    /// `HOST:PORT` to listen on (`[::1]:7070` for IPv6; port 0 picks a free port).
    public var listenAddress: String
    /// Longest request line (method, target, version) accepted; longer gets 414.
    public var maxRequestLineLength: Int
    /// Longest header section (after the request line, CRLFs included); longer gets 431.
    public var maxHeaderSectionLength: Int
    /// Most header fields in one request; more gets 431.
    public var maxHeaderCount: Int
    /// Largest request body; larger gets 413, decided from `Content-Length`
    /// before reading, and while reading chunked bodies.
    public var maxBodyLength: Int
    /// Time allowed from a request's first byte to the end of its head; a slower
    /// client (slowloris) gets 408 and is disconnected.
    public var headTimeout: Duration
    /// Time allowed to receive a body once its head arrived; then 408 and close.
    public var bodyTimeout: Duration
    /// How long a keep-alive connection may sit between requests before it is closed.
    public var idleTimeout: Duration
    /// How long a response may wait for a client that does not read it before
    /// the connection is closed.
    public var writeTimeout: Duration
    /// Most connections open at once across all loops; past it a new client is
    /// answered 503 and disconnected.
    public var maxConnections: Int
    /// Bytes of a streamed response body (``HTTPResponseBodyStream``) that may
    /// wait for a slow reader before its producer is told to stop and the
    /// connection closes.
    public var maxStreamBacklog: Int
    /// Answers of `401 Unauthorized` one connection gets before it is
    /// closed (the last says `Connection: close`): a loop guessing bearer
    /// secrets on a keep-alive connection is cut off after a handful.
    public var maxUnauthorizedResponses = 5
    /// The listen backlog of each loop's listener.
    public var backlog: Int32
    /// The certificate and key to serve HTTPS with (and the client CAs, for
    /// mTLS); nil serves plaintext HTTP. With TLS on, plaintext is refused.
    public var tls: TLSServerConfiguration?
    /// Time allowed for a client's TLS handshake; a slower one is disconnected.
    public var tlsHandshakeTimeout: Duration

    /// Creates a configuration; every argument has the product's default.
    public init(
        listenAddress: String = "127.0.0.1:7070",
        maxRequestLineLength: Int = 8 * 1024,
        maxHeaderSectionLength: Int = 32 * 1024,
        maxHeaderCount: Int = 100,
        maxBodyLength: Int = 64 * 1024,
        headTimeout: Duration = .seconds(10),
        bodyTimeout: Duration = .seconds(30),
        idleTimeout: Duration = .seconds(60),
        writeTimeout: Duration = .seconds(10),
        maxConnections: Int = 16 * 1024,
        maxStreamBacklog: Int = 256 * 1024,
        backlog: Int32 = 1024,
        tls: TLSServerConfiguration? = nil,
        tlsHandshakeTimeout: Duration = .seconds(10)
    ) {
        self.listenAddress = listenAddress
        self.maxRequestLineLength = maxRequestLineLength
        self.maxHeaderSectionLength = maxHeaderSectionLength
        self.maxHeaderCount = maxHeaderCount
        self.maxBodyLength = maxBodyLength
        self.headTimeout = headTimeout
        self.bodyTimeout = bodyTimeout
        self.idleTimeout = idleTimeout
        self.writeTimeout = writeTimeout
        self.maxConnections = maxConnections
        self.maxStreamBacklog = maxStreamBacklog
        self.backlog = backlog
        self.tls = tls
        self.tlsHandshakeTimeout = tlsHandshakeTimeout
    }

    var limits: HTTPRequestLimits {
        HTTPRequestLimits(
            maxRequestLineLength: maxRequestLineLength,
            maxHeaderSectionLength: maxHeaderSectionLength,
            maxHeaderCount: maxHeaderCount,
            maxBodyLength: maxBodyLength
        )
    }
}
