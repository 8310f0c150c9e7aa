/// Why a request could not be served: an HTTP status, an RFC 9457 problem
/// type and a detail saying what to fix.
///
/// Every error of this module is one of these; ``response`` turns it into the
/// `application/problem+json` answer.
///
/// ```swift
/// throw HTTPError.invalidRequest("bare LF in the header section")
/// ```
public struct HTTPError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The status to answer with.
    public var status: HTTPStatus
    /// The problem type, a short relative reference such as `invalid-request`.
    public var type: String
    /// What went wrong and how to fix it.
    public var detail: String

    /// Creates an error.
    public init(status: HTTPStatus, type: String, detail: String) {
        self.status = status
        self.type = type
        self.detail = detail
    }

    /// 400 `invalid-request`: malformed syntax or framing.
    public static func invalidRequest(_ detail: String) -> HTTPError {
        HTTPError(status: .badRequest, type: "invalid-request", detail: detail)
    }

    /// 404 `not-found`.
    public static func notFound(_ detail: String) -> HTTPError {
        HTTPError(status: .notFound, type: "not-found", detail: detail)
    }

    /// 408 `timeout`: the request did not arrive in time.
    public static func timeout(_ detail: String) -> HTTPError {
        HTTPError(status: .requestTimeout, type: "timeout", detail: detail)
    }

    /// 413 `payload-too-large`.
    public static func payloadTooLarge(_ detail: String) -> HTTPError {
        HTTPError(status: .contentTooLarge, type: "payload-too-large", detail: detail)
    }

    /// 414 `uri-too-long`.
    public static func uriTooLong(_ detail: String) -> HTTPError {
        HTTPError(status: .uriTooLong, type: "uri-too-long", detail: detail)
    }

    /// 417 `expectation-failed`.
    public static func expectationFailed(_ detail: String) -> HTTPError {
        HTTPError(status: .expectationFailed, type: "expectation-failed", detail: detail)
    }

    /// 431 `headers-too-large`.
    public static func headersTooLarge(_ detail: String) -> HTTPError {
        HTTPError(status: .requestHeaderFieldsTooLarge, type: "headers-too-large", detail: detail)
    }

    /// 501 `not-implemented`.
    public static func notImplemented(_ detail: String) -> HTTPError {
        HTTPError(status: .notImplemented, type: "not-implemented", detail: detail)
    }

    /// 503 `unavailable`.
    public static func unavailable(_ detail: String) -> HTTPError {
        HTTPError(status: .serviceUnavailable, type: "unavailable", detail: detail)
    }

    /// 505 `http-version-not-supported`.
    public static func versionNotSupported(_ detail: String) -> HTTPError {
        HTTPError(status: .httpVersionNotSupported, type: "http-version-not-supported", detail: detail)
    }

    /// The problem+json response for this error.
    public var response: HTTPResponse {
        HTTPResponse.problem(status: status, type: type, detail: detail)
    }

    public var description: String { "\(status.code) \(type): \(detail)" }
}
