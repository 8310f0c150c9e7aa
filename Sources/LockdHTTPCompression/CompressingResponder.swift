import LockdHTTP

/// Wraps a responder (a ``Router`` usually) the way nginx's `gzip on` wraps a
/// site: answers are gzip-compressed when the client accepts it, and request
/// bodies in a coding lockd does not decode are refused before `next` sees them.
///
/// - A response is compressed when its body is larger than `minimumSize`
///   (1 KiB), of a compressible type (JSON and `+json`, YAML, `text/*` but not
///   event streams), not already encoded, and the request's `Accept-Encoding`
///   prefers gzip (``AcceptEncoding``). Each such response says
///   `Vary: Accept-Encoding`, whichever coding it went out in; smaller
///   bodies are identity whatever the client asks, so they vary on nothing
///   and, answered at once, their requests' `Accept-Encoding` is never read
///   (a promised answer's is read as the answer is made: its promise keeps
///   no request to read it from later).
/// - A response that already has a `Content-Encoding`, or a `Vary` naming
///   `Accept-Encoding` (a ``PrecompressedBody``'s), is passed on untouched.
/// - `HEAD` gets what `GET` would, body dropped by the server, so its
///   `Content-Length` is the compressed length.
/// - A request declaring a `Content-Encoding` other than `identity` gets
///   `415 unsupported-media-type` with `Accept-Encoding: identity`, and
///   `next` never runs.
///
/// Responders of this kind nest: each wraps the next one.
///
/// ```swift
/// let responder = CompressingResponder(wrapping: api.router)
/// let server = HTTPServer(configuration: configuration, responder: responder, eventLoopGroup: loops, logger: logger)
/// ```
public struct CompressingResponder<Next: HTTPResponder>: HTTPResponder {
    /// The responder whose answers are compressed.
    public let next: Next
    /// Compresses bodies made per request.
    public let compressor: GzipCompressor
    /// Bodies of at most this many bytes are never compressed.
    public let minimumSize: Int

    /// Wraps `next`.
    /// - Parameters:
    ///   - next: Answers every request that is not refused.
    ///   - level: zlib's level for bodies compressed per request (1…9).
    ///   - minimumSize: Bodies of at most this many bytes go out as they are.
    public init(wrapping next: Next, level: Int32 = GzipCompressor.defaultLevel, minimumSize: Int = ResponseEncoding.defaultMinimumSize) {
        self.next = next
        self.compressor = GzipCompressor(level: level)
        self.minimumSize = minimumSize
        self.promisedFilters = PromisedCompressionFilters(minimumSize: minimumSize, compressor: compressor)
    }

    /// Compress promised responses, one for each way a request settles
    /// it: made once, shared by every request.
    @usableFromInline let promisedFilters: PromisedCompressionFilters

    // Inlinable, so that the caller's module specializes it for `Next`:
    // unspecialized, the generic call alone added ~100 ns to every lock
    // request (benchmarks/gzip, lockd-gzip-bench); specialized, nothing
    // measurable. The lock path runs only the two cheap tests inline.
    @inlinable
    nonisolated(nonsending) public func respond(to request: HTTPRequest, context: HTTPRequestContext) async -> HTTPResponse {
        if request.hasContentEncoding, let refusal = Self.refusal(of: request) { return refusal }
        let response = await next.respond(to: request, context: context)
        guard response.body.count > minimumSize else { return response }
        return encode(response, for: request)
    }

    /// As ``respond(to:context:)``, without a task when `next` answers at once.
    @inlinable
    public func answer(to request: HTTPRequest, context: inout HTTPRequestContext) -> HTTPAnswer {
        if request.hasContentEncoding, let refusal = Self.refusal(of: request) { return .now(refusal) }
        let answer = next.answer(to: request, context: &context)
        switch answer {
        case .now(let response):
            // The answer returned as it came, not rebuilt around its response (a copy of each).
            guard response.body.count > minimumSize else { return answer }
            return .now(encode(response, for: request))
        case .shared(let shared):
            // As `.now`: a small body passes as it came, still shared; a
            // larger one is encoded into a response of this request's own.
            guard shared.response.body.count > minimumSize else { return answer }
            return .now(encode(shared.response, for: request))
        case .later(let work):
            // Captured apart from `self`: a closure holding a generic value
            // looks its metadata up on every request.
            let minimumSize = minimumSize
            let compressor = compressor
            return .later { request, context in
                let response = await work(request, context)
                guard response.body.count > minimumSize else { return response }
                return ResponseEncoding.encode(response, for: request, minimumSize: minimumSize, compressor: compressor)
            }
        case .promised:
            // The answer returned as it came: the server's promise filters
            // the response (a closure and a filtered promise per request cost
            // ~0.9 k instructions a Redis lock request). The filter is the
            // one for the request's outcome, chosen now, so that the promise
            // keeps no copy of the request for it (~0.8 k more).
            context.addPromisedResponseFilter(promisedFilters.filter(for: request))
            return answer
        }
    }

    /// `response` gzip-compressed, identity or refused, as the request asks,
    /// when it is negotiable at all.
    @usableFromInline
    func encode(_ response: HTTPResponse, for request: HTTPRequest) -> HTTPResponse {
        ResponseEncoding.encode(response, for: request, minimumSize: minimumSize, compressor: compressor)
    }

    /// The `415` for a request whose content is in a coding lockd does not
    /// decode; nil for every other request.
    @usableFromInline
    static func refusal(of request: HTTPRequest) -> HTTPResponse? {
        let codings = request.headers.values(for: "Content-Encoding").flatMap(HTTPSyntax.listElements)
        guard let coding = codings.first(where: { !HTTPSyntax.equalsIgnoringCase($0.utf8, "identity") }) else { return nil }
        return HTTPResponse.problem(
            status: .unsupportedMediaType,
            type: "unsupported-media-type",
            detail: "the request body is sent with Content-Encoding: \(coding.prefix(64)), which lockd does not decode; send it uncompressed",
            headers: ["Accept-Encoding": "identity"]
        )
    }
}

/// ``CompressingResponder``'s compression of a promised response, as
/// ``CompressingResponder/encode(_:for:)`` compresses one given at once,
/// for requests that settled on one ``ResponseEncoding/Outcome``.
@usableFromInline
final class CompressionFilter: HTTPResponseFilter {
    let minimumSize: Int
    let compressor: GzipCompressor
    let outcome: ResponseEncoding.Outcome

    init(minimumSize: Int, compressor: GzipCompressor, outcome: ResponseEncoding.Outcome) {
        self.minimumSize = minimumSize
        self.compressor = compressor
        self.outcome = outcome
    }

    @usableFromInline
    func filter(_ response: consuming HTTPResponse) -> HTTPResponse {
        // The lock path's bodies fail this test, and pay nothing more.
        guard response.body.count > minimumSize else { return response }
        return ResponseEncoding.encode(response, as: outcome, minimumSize: minimumSize, compressor: compressor)
    }
}

/// ``CompressingResponder``'s promised-response filters, one for each
/// ``ResponseEncoding/Outcome``: a request's is chosen as its answer is
/// made, and nothing is made per request.
@usableFromInline
struct PromisedCompressionFilters: Sendable {
    let gzip: CompressionFilter
    let identity: CompressionFilter
    let notAcceptable: CompressionFilter

    init(minimumSize: Int, compressor: GzipCompressor) {
        gzip = CompressionFilter(minimumSize: minimumSize, compressor: compressor, outcome: .gzip)
        identity = CompressionFilter(minimumSize: minimumSize, compressor: compressor, outcome: .identity)
        notAcceptable = CompressionFilter(minimumSize: minimumSize, compressor: compressor, outcome: .notAcceptable)
    }

    /// The filter for a response to `request`.
    @usableFromInline
    func filter(for request: HTTPRequest) -> CompressionFilter {
        switch ResponseEncoding.outcome(for: request) {
        case .gzip: gzip
        case .identity: identity
        case .notAcceptable: notAcceptable
        }
    }
}
