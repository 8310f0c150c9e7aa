import Testing

@testable import LockdHTTP

/// The statuses lockd answers most have their status line written whole,
/// when their reason is the standard one; the rest are written from code
/// and reason. Either way the line is `HTTP/1.1 CODE REASON`: checked for
/// every code from 100 to 599 with its standard reason, a custom one and an
/// empty one, in a head that fits the stack space and one that does not.
@Suite struct HTTPStatusLineTests {
    private static func statusLine(_ status: HTTPStatus, padding: Int) -> String {
        var bytes: [UInt8] = []
        HTTPResponseEncoder.encode(
            HTTPResponse(status: status, headers: ["X-Pad": String(repeating: "p", count: padding)]), headOnly: false, keepAlive: true,
            requestVersion: .http1_1, date: Array("Sat, 05 Dec 2026 02:00:00 GMT".utf8), requestID: HTTPRequestID(prefix: "a-", number: 1),
            into: &bytes)
        let head = String(decoding: bytes, as: UTF8.self)
        return String(head[..<(head.range(of: "\r\n")?.upperBound ?? head.endIndex)])
    }

    @Test func everyStatusLineIsCodeAndReason() {
        for code in 100...599 {
            for status in [HTTPStatus(code: code), HTTPStatus(code: code, reason: "Custom \(code)"), HTTPStatus(code: code, reason: ""),
                           HTTPStatus(code: code, reason: "ok")] {
                for padding in [0, HTTPResponseEncoder.usualHeadSpace] {
                    #expect(Self.statusLine(status, padding: padding) == "HTTP/1.1 \(status.code) \(status.reason)\r\n")
                }
            }
        }
        for status in [HTTPStatus.ok, .created, .noContent, .badRequest, .notFound, .conflict, .serviceUnavailable] {
            #expect(Self.statusLine(status, padding: 0) == "HTTP/1.1 \(status.code) \(status.reason)\r\n")
        }
    }
}
