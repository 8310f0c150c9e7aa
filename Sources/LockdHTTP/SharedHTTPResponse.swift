/// A response made once and given, unchanged, to every request a route
/// answers with it (``HTTPAnswer/shared(_:)``): `/healthz`'s, say.
///
/// The server writes it exactly as it writes the same response answered
/// ``HTTPAnswer/now(_:)``. Answered `.now`, a response kept by a route's
/// closure was copied out for each request (its headers, body and route
/// retained through its value witness) and the answer destroyed after it
/// was written (each released): ~0.3 k instructions a request. Shared,
/// the answer holds this one object.
///
/// ```swift
/// let healthy = SharedHTTPResponse(HTTPResponse(status: .ok, body: Array(#"{"status":"ok"}"#.utf8)))
/// router.add(.get, "/healthz", name: "healthz") { _, _ in .shared(healthy) }
/// ```
public final class SharedHTTPResponse: Sendable {
    /// The response every request answered with this one gets.
    public let response: HTTPResponse

    /// Shares `response` (made once, never changed after).
    public init(_ response: HTTPResponse) {
        self.response = response
    }
}
