import LockdHTTP

/// Which responses lockd may send gzip-compressed, and the negotiation that
/// settles each one — shared by ``CompressingResponder`` (bodies made per
/// request) and ``PrecompressedBody`` (bodies compressed once).
public enum ResponseEncoding {
    /// Bodies of at most this many bytes (1 KiB, nginx users' `gzip_min_length`)
    /// go out as they are: compressing them saves less than a packet.
    public static let defaultMinimumSize = 1024

    /// Whether `response`'s encoding depends on the request's `Accept-Encoding`:
    /// a body of a compressible type larger than `minimumSize`, not encoded or
    /// negotiated already. Cheapest test first: the lock path's bodies fail the
    /// size test and pay nothing more.
    static func isNegotiable(_ response: HTTPResponse, minimumSize: Int) -> Bool {
        response.body.count > minimumSize
            && !forbidsContent(response.status)
            && !response.headers.contains("Content-Encoding")
            && !variesOnAcceptEncoding(response.headers)
            && isCompressible(contentType: response.headers["Content-Type"])
    }

    /// How a negotiable response goes out, as a request's `Accept-Encoding`
    /// and method settle it: what compression needs of the request, worked
    /// out while the request is at hand (a promised response's filter is
    /// chosen by it, and the promise keeps no request).
    @usableFromInline
    enum Outcome: Sendable {
        /// gzip, when it shrinks the body.
        case gzip
        /// As it is.
        case identity
        /// `406 not-acceptable`: the request refuses both codings.
        case notAcceptable
    }

    /// What `request` settles for a negotiable response: when it refuses
    /// both codings, `notAcceptable` for `GET` and `HEAD` — any other
    /// method has done its work by now, and its answer is sent as it is
    /// (RFC 9110 §12.1 lets a server disregard the field).
    @usableFromInline
    static func outcome(for request: HTTPRequest) -> Outcome {
        switch AcceptEncoding(request.headers).preferred {
        case .gzip: .gzip
        case .identity: .identity
        case nil: request.method == .get || request.method == .head ? .notAcceptable : .identity
        }
    }

    /// `response` gzip-compressed, identity or refused, as the request asks,
    /// when it is negotiable at all.
    @usableFromInline
    static func encode(_ response: HTTPResponse, for request: HTTPRequest, minimumSize: Int, compressor: GzipCompressor) -> HTTPResponse {
        guard isNegotiable(response, minimumSize: minimumSize) else { return response }
        return negotiate(response, as: outcome(for: request)) { compressor.compress(response.body) }
    }

    /// `response` as `outcome` has it, when it is negotiable at all.
    static func encode(_ response: HTTPResponse, as outcome: Outcome, minimumSize: Int, compressor: GzipCompressor) -> HTTPResponse {
        guard isNegotiable(response, minimumSize: minimumSize) else { return response }
        return negotiate(response, as: outcome) { compressor.compress(response.body) }
    }

    /// `response` as the request's `Accept-Encoding` wants it, with
    /// `Vary: Accept-Encoding` in every case (see ``outcome(for:)``).
    static func negotiate(_ response: HTTPResponse, for request: HTTPRequest, gzip: () -> [UInt8]?) -> HTTPResponse {
        negotiate(response, as: outcome(for: request), gzip: gzip)
    }

    /// `response` as `outcome` has it, with `Vary: Accept-Encoding` in every case.
    ///
    /// - Parameter gzip: Makes the gzip body; nil (or a body no smaller than
    ///   the original) sends the original.
    /// - Returns: the response gzip-encoded or as it was, or `406 not-acceptable`.
    static func negotiate(_ response: HTTPResponse, as outcome: Outcome, gzip: () -> [UInt8]?) -> HTTPResponse {
        var response = response
        response.headers.add(name: "Vary", value: "Accept-Encoding")
        switch outcome {
        case .gzip:
            if let body = gzip(), body.count < response.body.count {
                response.body = body
                response.headers.add(name: "Content-Encoding", value: "gzip")
            }
        case .identity:
            break
        case .notAcceptable:
            var refusal = HTTPResponse.problem(
                status: .notAcceptable,
                type: "not-acceptable",
                detail: "this resource is sent as gzip or identity, and Accept-Encoding refuses both; accept one of them",
                headers: ["Vary": "Accept-Encoding"]
            )
            // Still the route's answer, for metrics and access logs.
            refusal.route = response.route
            return refusal
        }
        return response
    }

    /// JSON (any `+json`), YAML and text other than event streams: what
    /// lockd sends that gzip shrinks.
    static func isCompressible(contentType: String?) -> Bool {
        guard let contentType else { return false }
        let mediaType = contentType.prefix { $0 != ";" }.trimmingSpaces().lowercased()
        // An event stream goes out event by event; it is never one body to compress.
        guard mediaType != "text/event-stream" else { return false }
        return mediaType == "application/json" || mediaType == "application/yaml" || mediaType == "application/x-yaml"
            || mediaType.hasPrefix("text/") || mediaType.hasSuffix("+json") || mediaType.hasSuffix("+yaml")
    }

    /// Whether a `Vary` field already names `Accept-Encoding` (or `*`): the
    /// handler negotiated the encoding itself.
    static func variesOnAcceptEncoding(_ headers: HTTPHeaders) -> Bool {
        headers.values(for: "Vary").contains { value in
            HTTPSyntax.listElements(value).contains { $0 == "*" || HTTPSyntax.equalsIgnoringCase($0.utf8, "accept-encoding") }
        }
    }

    private static func forbidsContent(_ status: HTTPStatus) -> Bool {
        status.code < 200 || status.code == 204 || status.code == 304
    }
}

extension HTTPStatus {
    static let notAcceptable = HTTPStatus(code: 406, reason: "Not Acceptable")
    static let unsupportedMediaType = HTTPStatus(code: 415, reason: "Unsupported Media Type")
}

extension Substring {
    /// Without leading and trailing spaces and tabs (HTTP's OWS).
    func trimmingSpaces() -> Substring {
        var text = self
        while let first = text.first, first == " " || first == "\t" { text.removeFirst() }
        while let last = text.last, last == " " || last == "\t" { text.removeLast() }
        return text
    }
}
