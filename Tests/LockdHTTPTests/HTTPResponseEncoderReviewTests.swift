import Testing

@testable import LockdHTTP

/// Review (session 10, wip-cpuhttp): a head is written into 1 KiB of stack
/// first. At the edge — a head of exactly 1023, 1024 and 1025 bytes, and a
/// multi-byte character across the 1 KiB mark — the bytes must be those
/// of the counted pass, whole and in order.
@Suite struct HTTPResponseEncoderReviewTests {
    private static let date = Array("Sat, 05 Dec 2026 02:00:00 GMT".utf8)

    private static func encode(_ value: String) -> [UInt8] {
        var bytes: [UInt8] = []
        let response = HTTPResponse(status: .ok, headers: ["X-Big": value], body: Array("hi".utf8))
        HTTPResponseEncoder.encode(
            response, headOnly: false, keepAlive: true, requestVersion: .http1_1, date: date,
            requestID: HTTPRequestID(prefix: "p-", number: 1), into: &bytes)
        return bytes
    }

    private static func expected(_ value: String) -> [UInt8] {
        Array(("HTTP/1.1 200 OK\r\nX-Big: \(value)\r\nDate: Sat, 05 Dec 2026 02:00:00 GMT\r\n"
            + "X-Request-Id: \(HTTPRequestID(prefix: "p-", number: 1))\r\nContent-Length: 2\r\n\r\nhi").utf8)
    }

    @Test(arguments: [-1, 0, 1])
    func aHeadAtTheEdgeOfTheStackSpaceIsWrittenWhole(offset: Int) {
        // The head's length with an empty value, then a value that brings it to 1 KiB + offset.
        let headLength = Self.expected("").count - 2
        let value = String(repeating: "v", count: HTTPResponseEncoder.usualHeadSpace - headLength + offset)
        #expect(Self.expected(value).count - 2 == HTTPResponseEncoder.usualHeadSpace + offset)
        #expect(Self.encode(value) == Self.expected(value))
    }

    @Test(arguments: [-2, -1, 0, 1])
    func aMultiByteValueAcrossTheMarkIsWrittenWhole(offset: Int) {
        // The value starts after "HTTP/1.1 200 OK\r\nX-Big: "; "é" (two
        // bytes) or "€" (three) straddles the 1 KiB mark.
        let valueStart = "HTTP/1.1 200 OK\r\nX-Big: ".utf8.count
        let value = String(repeating: "v", count: HTTPResponseEncoder.usualHeadSpace - valueStart - 1 + offset) + "é€"
        #expect(Self.encode(value) == Self.expected(value))
    }
}
