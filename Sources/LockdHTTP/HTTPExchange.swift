import LockdTransport

/// One answered request, as an ``HTTPServer`` reports it to its
/// ``HTTPExchangeObserver``: for metrics and access logs.
///
/// Every response the server writes is reported once — routed answers, the
/// router's 404 and 405, and the answers the server gives by itself to
/// malformed, oversized or slow requests and to clients over the connection
/// cap (those have no ``method`` and no ``route``).
public struct HTTPExchange: Sendable {
    /// The request's method; nil when the request could not be read.
    public var method: HTTPMethod?
    /// The request's raw path (no query); nil when the request could not be read.
    /// Made from ``pathBytes`` when read (an access log reads it; metrics do not).
    public var path: String? {
        get { pathBytes.map { String(decoding: $0, as: UTF8.self) } }
        set { pathBytes = newValue.map { Array($0.utf8) } }
    }
    /// The request's raw path as bytes (the request's own, not copied); nil
    /// when the request could not be read.
    public var pathBytes: [UInt8]?
    /// The name of the route that answered (``Router/add(_:_:name:handler:)``);
    /// nil when none did.
    public var route: String?
    /// The status sent.
    public var status: HTTPStatus
    /// From the request's first byte to its response being queued, in nanoseconds.
    public var durationNanoseconds: UInt64
    /// The id echoed in `X-Request-Id`.
    public var requestID: HTTPRequestID
    /// The client's address, when known.
    public var remoteAddress: SocketAddress?

    /// Creates an exchange (the server makes these; tests may too).
    public init(
        method: HTTPMethod?, path: String?, route: String?, status: HTTPStatus,
        durationNanoseconds: UInt64, requestID: HTTPRequestID, remoteAddress: SocketAddress?
    ) {
        self.method = method
        self.pathBytes = path.map { Array($0.utf8) }
        self.route = route
        self.status = status
        self.durationNanoseconds = durationNanoseconds
        self.requestID = requestID
        self.remoteAddress = remoteAddress
    }
}

/// The observer of a server given none: it learns nothing.
struct NoExchangeObserver: HTTPExchangeObserver {
    var readsPath: Bool { false }
    func answered(_ exchange: inout HTTPExchange) {}
}

/// Learns of every response an ``HTTPServer`` writes.
///
/// Called on the event loop that owns the connection, right after the
/// response is queued: keep it short and never block.
///
/// ```swift
/// struct CountStatuses: HTTPExchangeObserver {
///     let counts: StatusCounts
///     func answered(_ exchange: inout HTTPExchange) { counts.add(exchange.status.code) }
/// }
/// ```
public protocol HTTPExchangeObserver: Sendable {
    /// Whether ``answered(_:)`` reads the exchange's ``HTTPExchange/path``
    /// (an access log does; counters do not): asked once, when the server
    /// is made. When false, an exchange answered as its request is read
    /// carries no path: holding the request's path cost a retain and a
    /// release a request (~50 instructions). True by default.
    var readsPath: Bool { get }

    /// One response was queued for the client.
    ///
    /// In-out only so that the server's exchange is lent in place, not
    /// copied for the call (~40 instructions a request): read it, and
    /// leave it as it is — the server writes the response's
    /// `X-Request-Id` from it after.
    func answered(_ exchange: inout HTTPExchange)
}

extension HTTPExchangeObserver {
    /// True: the exchange carries its path.
    public var readsPath: Bool { true }
}
