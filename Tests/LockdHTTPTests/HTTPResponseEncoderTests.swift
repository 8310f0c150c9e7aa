import Testing

@testable import LockdHTTP

/// The head is written into fixed stack space first and counted only when
/// it does not fit: both ways must write the same bytes.
@Suite struct HTTPResponseEncoderTests {
    private static func encode(_ response: HTTPResponse, keepAlive: Bool = true) -> String {
        var bytes: [UInt8] = []
        HTTPResponseEncoder.encode(
            response, headOnly: false, keepAlive: keepAlive, requestVersion: .http1_1,
            date: Array("Sat, 05 Dec 2026 02:00:00 GMT".utf8), requestID: HTTPRequestID(prefix: "abc-", number: 255),
            into: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func expected(_ fields: [String], body: String, keepAlive: Bool = true) -> String {
        "HTTP/1.1 200 OK\r\n" + fields.map { $0 + "\r\n" }.joined()
            + "Date: Sat, 05 Dec 2026 02:00:00 GMT\r\nX-Request-Id: \(HTTPRequestID(prefix: "abc-", number: 255))\r\n"
            + "Content-Length: \(body.utf8.count)\r\n" + (keepAlive ? "" : "Connection: close\r\n") + "\r\n" + body
    }

    @Test(arguments: [10, HTTPResponseEncoder.usualHeadSpace - 200, HTTPResponseEncoder.usualHeadSpace, 5_000])
    func aHeadOfAnySizeIsWrittenWhole(valueLength: Int) {
        let value = String(repeating: "v", count: valueLength)
        let response = HTTPResponse(status: .ok, headers: ["Content-Type": "text/plain", "X-Big": value], body: Array("hello".utf8))
        #expect(Self.encode(response) == Self.expected(["Content-Type: text/plain", "X-Big: \(value)"], body: "hello"))
        #expect(Self.encode(response, keepAlive: false)
            == Self.expected(["Content-Type: text/plain", "X-Big: \(value)"], body: "hello", keepAlive: false))
    }

    @Test func theServersOwnFieldsAreDroppedInAnyCaseAndLookalikesKept() {
        let response = HTTPResponse(status: .ok, headers: [
            "date": "yesterday", "CONNECTION": "keep-alive", "x-request-id": "mine", "Content-Length": "99",
            "Transfer-Encoding": "chunked", "Content-Type": "a/b", "X-Request-Ix": "kept", "Dote": "kept",
        ], body: Array("{}".utf8))
        #expect(Self.encode(response) == Self.expected(["Content-Type: a/b", "X-Request-Ix: kept", "Dote: kept"], body: "{}"))
    }
}
