/// Changes a promised response on its way to the client, for a responder
/// that wraps another (compression): see ``HTTPPromise/filtered(by:)`` and
/// ``HTTPRequestContext/addPromisedResponseFilter(_:)``.
///
/// An object made once and shared by every request. It is not given the
/// request: a filter whose work depends on it is chosen while the request
/// is at hand — one of a few made beforehand, one per outcome (compression
/// has one per coding) — so that a promise keeps no copy of the request
/// (which cost ~0.8 k instructions a promised request: the copy, its
/// destroy, and the connection's next request's storage made afresh
/// because the copy held it).
///
/// ```swift
/// final class Stamp: HTTPResponseFilter {
///     let value: String
///     init(_ value: String) { self.value = value }
///     func filter(_ response: consuming HTTPResponse) -> HTTPResponse {
///         response.headers.add(name: "X-Served-By", value: value)
///         return response
///     }
/// }
/// let reader = Stamp("reader"), writer = Stamp("writer")   // made once
/// // Chosen while the request is at hand; the promise keeps no request.
/// start(request, context, promise.filtered(by: request.method == .get ? reader : writer))
/// ```
public protocol HTTPResponseFilter: AnyObject, Sendable {
    /// The response to send instead of `response`, which it takes over (it
    /// may return it changed without copying it).
    func filter(_ response: consuming HTTPResponse) -> HTTPResponse
}

/// Two filters applied one after the other: what a context holds when two
/// responders each add one (``HTTPRequestContext/addPromisedResponseFilter(_:)``).
final class ChainedResponseFilter: HTTPResponseFilter {
    let first: any HTTPResponseFilter
    let second: any HTTPResponseFilter

    init(_ first: any HTTPResponseFilter, then second: any HTTPResponseFilter) {
        self.first = first
        self.second = second
    }

    func filter(_ response: consuming HTTPResponse) -> HTTPResponse {
        second.filter(first.filter(response))
    }
}
