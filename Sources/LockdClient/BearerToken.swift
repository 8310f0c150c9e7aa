import Foundation
import HTTPTypes
import OpenAPIRuntime

/// Sends `Authorization: Bearer SECRET` with every request, for a lockd that
/// runs with `--auth-file`.
///
/// A middleware rather than a header on each call, so that no call — the
/// generated client's included — goes out without it.
struct BearerToken: ClientMiddleware {
    let secret: String

    func intercept(
        _ request: HTTPRequest,
        body: HTTPBody?,
        baseURL: URL,
        operationID: String,
        next: (HTTPRequest, HTTPBody?, URL) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        var request = request
        request.headerFields[.authorization] = "Bearer \(secret)"
        return try await next(request, body, baseURL)
    }
}

extension BearerToken: CustomStringConvertible {
    /// Never the secret.
    var description: String { "BearerToken(<redacted>)" }
}
