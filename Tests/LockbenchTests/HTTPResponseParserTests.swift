import Testing

@testable import LockbenchCore

@Suite struct HTTPResponseParserTests {
    private func parse(_ text: String) throws -> (HTTPResponse, Int)? {
        let bytes = Array(text.utf8)
        return try bytes.withUnsafeBufferPointer { buffer throws(HTTPResponseError) in try HTTPResponseParser.parse(buffer) }
    }

    private let created = "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{\"token\":\"abc\"}"

    @Test func readsStatusAndContentLengthBody() throws {
        let (response, used) = try #require(try parse(created))
        #expect(response == HTTPResponse(status: 201, keepAlive: true, body: Array("{\"token\":\"abc\"}".utf8)))
        #expect(used == created.utf8.count)
    }

    @Test func everyProperPrefixNeedsMoreBytes() throws {
        let bytes = Array(created.utf8)
        for length in 0..<bytes.count {
            let prefix = String(decoding: bytes[0..<length], as: UTF8.self)
            #expect(try parse(prefix) == nil, "prefix of \(length) bytes")
        }
    }

    @Test func stopsAtTheEndOfTheFirstOfTwoResponses() throws {
        let second = "HTTP/1.1 204 No Content\r\n\r\n"
        let (response, used) = try #require(try parse(second + created))
        #expect(response.status == 204)
        #expect(response.body.isEmpty)
        #expect(used == second.utf8.count)
    }

    @Test func decodesChunkedBodiesWithExtensionsAndTrailers() throws {
        let text = "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n4;x=y\r\n{\"to\r\nB\r\nken\":\"abc\"}\r\n0\r\nX-Trailer: 1\r\n\r\n"
        let (response, used) = try #require(try parse(text))
        #expect(String(decoding: response.body, as: UTF8.self) == "{\"token\":\"abc\"}")
        #expect(used == text.utf8.count)
        #expect(try parse(String(text.dropLast(2))) == nil)
    }

    @Test func connectionHeaderAndVersionDecideKeepAlive() throws {
        let close = try #require(try parse("HTTP/1.1 204 No Content\r\nConnection: Close\r\n\r\n"))
        #expect(close.0.keepAlive == false)
        let old = try #require(try parse("HTTP/1.0 204 No Content\r\n\r\n"))
        #expect(old.0.keepAlive == false)
        let oldKept = try #require(try parse("HTTP/1.0 204 No Content\r\nconnection: keep-alive\r\n\r\n"))
        #expect(oldKept.0.keepAlive == true)
    }

    @Test func skipsInterimResponses() throws {
        let (response, _) = try #require(try parse("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 409 Conflict\r\nContent-Length: 2\r\n\r\n{}"))
        #expect(response.status == 409)
        #expect(response.body == Array("{}".utf8))
    }

    @Test func rejectsWhatIsNotAResponse() {
        for text in [
            "HTTP/2 200 OK\r\n\r\n",
            "HTTP/1.1 2x1 Created\r\nContent-Length: 0\r\n\r\n",
            "HTTP/1.1 201 Created\r\nno colon here\r\n\r\n",
            "HTTP/1.1 201 Created\r\nContent-Length: -4\r\n\r\n",
            "HTTP/1.1 201 Created\r\n\r\n",  // a body with no framing
            "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        ] {
            #expect(throws: HTTPResponseError.self, "\(text.debugDescription)") { try parse(text) }
        }
    }

    @Test func boundsTheHeaderSectionAndTheBody() {
        let endless = "HTTP/1.1 200 OK\r\nX: " + String(repeating: "a", count: HTTPResponseParser.maxHeadBytes)
        #expect(throws: HTTPResponseError.self) { try parse(endless) }
        let huge = "HTTP/1.1 200 OK\r\nContent-Length: \(HTTPResponseParser.maxBodyBytes + 1)\r\n\r\n"
        #expect(throws: HTTPResponseError.self) { try parse(huge) }
    }
}
