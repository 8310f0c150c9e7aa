/// A complete HTTP/1.1 request: head and (already received) body.
///
/// ```swift
/// func respond(to request: HTTPRequest, context: HTTPRequestContext) async -> HTTPResponse {
///     guard request.method == .post else { return HTTPResponse(status: .methodNotAllowed) }
///     let token = request.headers["Lock-Token"]
///     …
/// }
/// ```
public struct HTTPRequest: Sendable {
    /// The method as sent.
    public var method: HTTPMethod
    /// The path of the request target, raw (not percent-decoded), starting with `/`
    /// (`*` for `OPTIONS *`). An absolute-form target is reduced to its path.
    /// Made from ``pathBytes`` when read.
    public var path: String {
        get { String(decoding: pathBytes, as: UTF8.self) }
        set { pathBytes = Array(newValue.utf8) }
    }
    /// The path's bytes, as received. Kept as bytes: a lock's path is
    /// longer than a `String` holds inline, and making one was an
    /// allocation (and a check of its UTF-8) a request whether or not
    /// anything read it; the router reads the bytes, and this array's
    /// storage goes round with the request's others (``SpareRequestStorage``).
    public var pathBytes: [UInt8]
    /// The query after `?`, raw, or nil when the target has no `?`.
    public var query: String?
    /// The protocol version.
    public var version: HTTPVersion
    /// The header fields; names case-insensitive, repeats kept.
    public var headers: HTTPHeaders
    /// The body, decoded from `Content-Length` or chunked framing (trailers dropped).
    public var body: [UInt8]
}

// The initializers live in an extension so that the struct keeps its
// synthesized memberwise initializer, which the decoder calls: swiftc -O
// builds a struct returned through memory in place only through that one;
// an initializer assigning `self.x = x` built the request aside, copied it
// to the caller and destroyed the first (~0.28 k instructions a request).
extension HTTPRequest {
    /// Creates a request (tests and adapters; the server builds its own).
    public init(
        method: HTTPMethod,
        path: String,
        query: String? = nil,
        version: HTTPVersion = .http1_1,
        headers: HTTPHeaders = HTTPHeaders(),
        body: [UInt8] = []
    ) {
        self.init(method: method, pathBytes: Array(path.utf8), query: query, version: version, headers: headers, body: body)
    }
}

extension HTTPRequest {
    /// Whether the request has a `Content-Encoding` field: asked of every
    /// request (``HTTPHeaders/contains(_:)`` of it cost ~80 instructions,
    /// this ~10 when it has none, as most have not).
    public var hasContentEncoding: Bool {
        headers.mayContain(nameBit: HTTPHeaders.nameBit(length: 16, first: UInt8(ascii: "c"))) && headers.contains("Content-Encoding")
    }
}
