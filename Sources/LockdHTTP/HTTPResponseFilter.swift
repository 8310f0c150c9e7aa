/// Changes a promised response on its way to the client, for a responder
/// that wraps another (compression): see ``HTTPPromise/filtered(by:for:)``.
///
/// An object made once and shared by every request: a filter that needs
/// the request is given it, rather than a closure capturing it per request.
///
/// ```swift
/// final class Stamp: HTTPResponseFilter {
///     func filter(_ response: consuming HTTPResponse, for request: HTTPRequest) -> HTTPResponse {
///         response.headers.add(name: "X-Path", value: request.path)
///         return response
///     }
/// }
/// start(request, context, promise.filtered(by: stamp, for: request))
/// ```
public protocol HTTPResponseFilter: AnyObject, Sendable {
    /// The response to send for `request` instead of `response`, which it
    /// takes over (it may return it changed without copying it).
    func filter(_ response: consuming HTTPResponse, for request: HTTPRequest) -> HTTPResponse
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

    func filter(_ response: consuming HTTPResponse, for request: HTTPRequest) -> HTTPResponse {
        second.filter(first.filter(response, for: request), for: request)
    }
}
