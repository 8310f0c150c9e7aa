import LockdHTTP

/// A body that never changes (the OpenAPI document, a status page),
/// compressed once when it is made — at zlib's best level, since it is paid
/// for once — and answered in whichever coding each request prefers.
///
/// Its responses carry `Vary: Accept-Encoding`, so a ``CompressingResponder``
/// around the route passes them on as they are.
///
/// ```swift
/// let spec = PrecompressedBody(OpenAPIDocument.bytes, contentType: "application/yaml")
/// router.add(.get, "/openapi.yaml") { request, _ in spec.response(to: request) }
/// ```
public struct PrecompressedBody: Sendable {
    /// The body as it is.
    public let identity: [UInt8]
    /// The body gzip-compressed; nil when it is too small to be worth it, or
    /// does not shrink.
    public let gzip: [UInt8]?
    /// The `Content-Type` of every response.
    public let contentType: String

    /// Compresses `body` now.
    /// - Parameters:
    ///   - minimumSize: Bodies of at most this many bytes are always sent as they are.
    public init(
        _ body: [UInt8],
        contentType: String,
        minimumSize: Int = ResponseEncoding.defaultMinimumSize
    ) {
        self.identity = body
        self.contentType = contentType
        let compressible = body.count > minimumSize && ResponseEncoding.isCompressible(contentType: contentType)
        let gzip = compressible ? GzipCompressor(level: 9).compress(body) : nil
        self.gzip = gzip.flatMap { $0.count < body.count ? $0 : nil }
    }

    /// A `200` with the body in the coding `request` prefers.
    public func response(to request: HTTPRequest) -> HTTPResponse {
        let response = HTTPResponse(status: .ok, headers: ["Content-Type": contentType], body: identity)
        guard let gzip else { return response }
        return ResponseEncoding.negotiate(response, for: request) { gzip }
    }
}
