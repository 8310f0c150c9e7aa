import Foundation
import OpenAPIRuntime

/// A response that is not one lockd gives (say, a proxy's error page).
struct UnexpectedResponse: Error, CustomStringConvertible {
    /// The HTTP status code.
    var status: Int
    var description: String { "unexpected HTTP \(status) response (is the server URL lockd's?)" }
}

extension LockError {
    init(_ response: Components.Responses.InvalidRequest) {
        self = .invalidRequest(detail: Self.detail(of: response.body, or: "invalid request"))
    }

    /// Something between this client and lockd compressed the request body.
    init(_ response: Components.Responses.UnsupportedContentEncoding) {
        self = .invalidRequest(detail: Self.detail(of: response.body, or: "lockd reads request bodies uncompressed only"))
    }

    /// `lock-held` or `limit-mismatch`.
    init(_ response: Components.Responses.AcquireConflict) {
        switch response.body {
        case .applicationProblemJson(let problem):
            if problem._type == .limitMismatch {
                // lockd always names the limit; 0 would only come from a server that does not.
                self = .limitMismatch(limit: problem.limit ?? 0)
                return
            }
            let holders = (problem.holders ?? []).map(LockHolder.init)
            self = .held(holders: holders, retryAfter: .seconds(max(1, response.headers.retryAfter ?? 1)))
        }
    }

    /// lockd runs with an auth file and knows no client by this token (or none was sent).
    init(_ response: Components.Responses.Unauthorized) {
        self = .unauthorized(detail: Self.detail(of: response.body, or: "send a bearer token"))
    }

    /// The client's grants do not cover this action on this name.
    init(_ response: Components.Responses.Forbidden) {
        self = .forbidden(detail: Self.detail(of: response.body, or: "no grant for this action on this name"))
    }

    init(_ response: Components.Responses.Unavailable) {
        self = .unavailable(retryAfter: .seconds(max(1, response.headers.retryAfter)))
    }

    /// Any other problem lockd answers: a 5xx means it cannot serve now, a 4xx
    /// that the request is wrong for this server.
    init(status: Int, _ response: Components.Responses.Problem) {
        guard case .applicationProblemJson(let problem) = response.body, status < 500 else {
            self = .unavailable(retryAfter: nil)
            return
        }
        self = .invalidRequest(detail: problem.detail)
    }

    /// The detail of the problem `body` holds; `fallback` for a body of
    /// another content type (should the spec ever add one: lockd sends
    /// these answers as problem+json only).
    private static func detail(of body: some ProblemResponseBody, or fallback: String) -> String {
        (try? body.applicationProblemJson)?.detail ?? fallback
    }

    /// The generated client failed: no response, or one it could not decode.
    static func from(_ error: ClientError) -> any Error {
        if error.underlyingError is CancellationError || Task.isCancelled {
            return CancellationError()
        }
        guard let response = error.response else {
            return LockError.transport(error.underlyingError)
        }
        if response.status.code >= 500 {
            let seconds = response.headerFields[.retryAfter].flatMap { Int($0) }
            return LockError.unavailable(retryAfter: seconds.map { .seconds(max(1, $0)) })
        }
        return LockError.transport(UnexpectedResponse(status: response.status.code))
    }
}

/// A generated response's body that may be a problem (RFC 9457): the
/// responses whose problem's detail becomes the error's, read in one place.
protocol ProblemResponseBody {
    /// The problem; throws when the body is of another content type.
    var applicationProblemJson: Components.Schemas.Problem { get throws }
}

extension Components.Responses.InvalidRequest.Body: ProblemResponseBody {}
extension Components.Responses.UnsupportedContentEncoding.Body: ProblemResponseBody {}
extension Components.Responses.Unauthorized.Body: ProblemResponseBody {}
extension Components.Responses.Forbidden.Body: ProblemResponseBody {}
