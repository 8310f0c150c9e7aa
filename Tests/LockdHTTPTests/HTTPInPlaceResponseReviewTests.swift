import Testing

@testable import LockdHTTP

/// Review (issue 22, wip-http26): a response is written in place into the
/// stream's output queue, in room ``HTTPResponseEncoder/maxEncodedCount(_:headOnly:date:requestID:)``
/// bounds, with no check per piece (packed writes store whole words). For
/// heads at every extreme — a long non-standard reason, many tiny fields,
/// server fields the encoder drops, the longest client id and made ids
/// with short and long prefixes, HEAD, 204 and 304, HTTP/1.0, keep-alive
/// or not — the bytes written in place are those of the array path, and
/// not one byte past the bound is touched.
@Suite struct HTTPInPlaceResponseReviewTests {
    private static let date = Array("Sat, 05 Dec 2026 02:00:00 GMT".utf8)
    /// Bytes past the bound, checked untouched.
    private static let guardCount = 64
    private static let guardByte: UInt8 = 0xA5

    private static func responses() -> [HTTPResponse] {
        var many = HTTPHeaders()
        for index in 0..<100 { many.add(name: "a\(index % 3 == 0 ? "" : "b")", value: index % 2 == 0 ? "" : "v") }
        var dropped = HTTPHeaders()
        dropped.add(name: "Date", value: "x")
        dropped.add(name: "Content-Length", value: "99")
        dropped.add(name: "Connection", value: "close")
        dropped.add(name: "Transfer-Encoding", value: "chunked")
        dropped.add(name: "X", value: "")
        let longReason = String(repeating: "R", count: 300)
        // Every status of the encoder's padded table (wip-http34), and others.
        let statuses = [HTTPStatus.ok, HTTPStatus(code: 201), HTTPStatus(code: 204), HTTPStatus(code: 304), HTTPStatus(code: 409),
                        HTTPStatus.badRequest, HTTPStatus.notFound, HTTPStatus(code: 404, reason: "Not Found!"),
                        HTTPStatus(code: 599, reason: longReason), HTTPStatus(code: 299, reason: ""), HTTPStatus(code: 200, reason: "Fine"),
                        HTTPStatus(code: 1_000_000, reason: "é")]
        let bodies: [[UInt8]] = [[], [1], Array(repeating: 7, count: 65_536)]
        var responses: [HTTPResponse] = []
        for status in statuses {
            for headers in [HTTPHeaders(), ["Content-Type": "application/json"], many, dropped, ["X-Ü": "wert-ü"]] {
                for body in bodies { responses.append(HTTPResponse(status: status, headers: headers, body: body)) }
            }
        }
        return responses
    }

    private static let requestIDs: [HTTPRequestID?] = [
        nil,
        HTTPRequestID(prefix: "", number: 0),
        HTTPRequestID(prefix: "9f3c01aa-", number: UInt64.max),
        HTTPRequestID(prefix: "sixteen-bytes-ab", number: 0xABC),
        HTTPRequestID(prefix: "seventeen-bytes-a", number: UInt64.max),
        HTTPRequestID(prefix: "zürich-ß-", number: 1),
        HTTPRequestID(received: String(repeating: "r", count: HTTPRequestID.maxReceivedLength)),
        HTTPRequestID(received: "a"),
    ]

    @Test func writtenInPlaceAsOnTheArrayPathAndWithinTheBound() {
        var checked = 0
        for response in Self.responses() {
            for requestID in Self.requestIDs {
                for headOnly in [false, true] {
                    for keepAlive in [false, true] {
                        for version in [HTTPVersion.http1_1, HTTPVersion.http1_0] {
                            var expected: [UInt8] = []
                            HTTPResponseEncoder.encode(response, headOnly: headOnly, keepAlive: keepAlive, requestVersion: version,
                                                       date: Self.date, requestID: requestID, into: &expected)
                            let (bound, room, written) = Self.date.withUnsafeBytes { date -> (Int, [UInt8], Int) in
                                let bound = HTTPResponseEncoder.maxEncodedCount(response, headOnly: headOnly, date: date, requestID: requestID)
                                var room = [UInt8](repeating: Self.guardByte, count: bound + Self.guardCount)
                                let written = room.withUnsafeMutableBytes { room in
                                    HTTPResponseEncoder.encode(response, headOnly: headOnly, keepAlive: keepAlive, requestVersion: version,
                                                               date: date, requestID: requestID, at: room.baseAddress!)
                                }
                                return (bound, room, written)
                            }
                            let what = "status \(response.status.code), \(response.headers.count) fields, body \(response.body.count), id \(requestID.map { "\($0)" } ?? "none")"
                            #expect(written <= bound, "\(what)")
                            #expect(Array(room.prefix(written)) == expected, "\(what)")
                            #expect(room.suffix(Self.guardCount).allSatisfy { $0 == Self.guardByte }, "bytes past the bound written: \(what)")
                            checked += 1
                        }
                    }
                }
            }
        }
        #expect(checked > 1_000)
    }
}
