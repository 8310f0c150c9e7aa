/// A response to send: status, header fields and a complete body — or a
/// body streamed in pieces after the head (``bodyStream``).
///
/// The server adds `Date`, `Content-Length` (or `Transfer-Encoding: chunked`
/// for a streamed body) and `Connection`; fields of those names set here are
/// replaced. For `HEAD` the body is dropped and its length kept.
///
/// ```swift
/// HTTPResponse(status: .ok, headers: ["Content-Type": "application/json"], body: Array(#"{"ok":true}"#.utf8))
/// HTTPResponse(status: .ok, headers: ["Content-Type": "text/event-stream"], bodyStream: HTTPResponseBodyStream { writer in
///     for await event in events { guard await writer.write(event.bytes) == .written else { return } }
/// })
/// ```
public struct HTTPResponse: Sendable {
    /// The status line's code and reason.
    public var status: HTTPStatus
    /// Header fields other than the ones the server sets.
    public var headers: HTTPHeaders
    /// The body; must be empty for 1xx, 204 and 304 (the server drops it).
    public var body: [UInt8]
    /// A body written after the head, in pieces, while the connection stays
    /// with this response; when set, ``body`` is not sent.
    public var bodyStream: HTTPResponseBodyStream?
    /// The name of the route that produced this response, when it names one
    /// (``HTTPResponder/respondByAnswering(to:context:)`` sets the one a
    /// ``Router`` named in the context); never sent. The server reports it
    /// to its ``HTTPExchangeObserver``, else the context's
    /// (``HTTPRequestContext/route``).
    public var route: String?
    /// Called when the response is not written because its connection
    /// closed first (the client hung up while it was being made): for a
    /// responder whose answer hands something over, such as a grant, that
    /// must not be kept by nobody. Setting it also has the server drop the
    /// response for a client that hung up — or half-closed: it will send
    /// nothing more — though the loop has not handled that yet, as when the
    /// FIN came with the request: the server looks at the socket just
    /// before writing (one `poll`) unless its loop rules out an unseen
    /// hang-up (``EventLoop/hangUpMayBeUnseen(at:)``).
    ///
    /// (Spelled `Optional<…>`, which has no implicit `nil`, so every
    /// initializer sets it: one that set it over the implicit `nil` copied
    /// the whole response and destroyed the original, ~0.3 k instructions
    /// a grant that may be dropped.)
    public var onDropped: Optional<@Sendable () -> Void>
    /// When set, the instant (``MonotonicClock/now()``, nanoseconds) after
    /// which this response is of no use to its client: it hands over
    /// something that expires, such as a lease. Reached any later — its
    /// loop stalled, or the process was stopped, after it was made — it is
    /// dropped, its ``onDropped`` called, and ``late()`` written in its
    /// place. Checked with the clock reading the server takes as it writes
    /// (a plain number: a response without one pays nothing to carry it).
    public var deadline: UInt64?

    /// Creates a response with a complete body.
    public init(status: HTTPStatus, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
        self.onDropped = nil
    }

    /// Creates a response with a complete body that hands something over
    /// (a grant): written only before `deadline` (``deadline``), and
    /// `onDropped` called when it is not written (``onDropped``).
    ///
    /// Made whole, where a response made first and then given these two was
    /// made twice over: set afterwards, on a `var`, the compiler copied the
    /// whole response and destroyed the other (~0.3 k instructions a
    /// promised grant; see ``onDropped``).
    public init(
        status: HTTPStatus, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = [], deadline: UInt64?,
        onDropped: (@Sendable () -> Void)?
    ) {
        self.status = status
        self.headers = headers
        self.body = body
        self.onDropped = onDropped
        self.deadline = deadline
    }

    /// Creates a response whose body `bodyStream` writes after the head.
    public init(status: HTTPStatus, headers: HTTPHeaders = HTTPHeaders(), bodyStream: HTTPResponseBodyStream) {
        self.status = status
        self.headers = headers
        self.body = []
        self.bodyStream = bodyStream
        self.onDropped = nil
    }

    /// An RFC 9457 `application/problem+json` response `{type, title, status, detail}`.
    ///
    /// - Parameters:
    ///   - status: The HTTP status, repeated in the body.
    ///   - type: A short relative reference clients branch on, such as `"not-found"`.
    ///   - title: A fixed summary of the type; defaults to the status's reason phrase.
    ///   - detail: What went wrong in this case and how to fix it.
    ///   - headers: Extra fields such as `Allow` or `Retry-After`.
    public static func problem(
        status: HTTPStatus,
        type: String,
        title: String? = nil,
        detail: String,
        headers: HTTPHeaders = HTTPHeaders()
    ) -> HTTPResponse {
        var json = #"{"type":"#
        JSONString.append(type, to: &json)
        json += #","title":"#
        JSONString.append(title ?? status.reason, to: &json)
        json += #","status":\#(status.code),"detail":"#
        JSONString.append(detail, to: &json)
        json += "}"
        var headers = headers
        headers.replaceOrAdd(name: "Content-Type", value: "application/problem+json")
        return HTTPResponse(status: status, headers: headers, body: Array(json.utf8))
    }
}

/// Writes JSON string literals (RFC 8259 escaping) — for problem bodies here
/// and for every JSON body and log line the layers above write.
public enum JSONString {
    /// Appends `text` to `json` as a quoted, escaped JSON string.
    public static func append(_ text: String, to json: inout String) {
        var bytes: [UInt8] = []
        append(text, to: &bytes)
        json += String(decoding: bytes, as: UTF8.self)
    }
}
