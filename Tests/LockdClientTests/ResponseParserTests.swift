@testable import LockdClient
import Testing

/// SocketTransport's response reader: lengths, chunks, keep-alive, and bytes that are not HTTP.
@Suite struct ResponseParserTests {
    private func parse(_ text: String, atEnd: Bool = false) throws -> RawResponse? {
        try ResponseParser.parse(Array(text.utf8), atEnd: atEnd)
    }

    @Test func aContentLengthBodyIsCompleteOnlyWhenAllOfItArrived() throws {
        let whole = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}"
        #expect(try parse(String(whole.dropLast(2))) == nil)
        #expect(try parse("HTTP/1.1 200 OK\r\nContent-Len") == nil)
        let response = try #require(try parse(whole))
        #expect(response.status == 200)
        #expect(String(decoding: response.body, as: UTF8.self) == "{\"a\":1}")
        #expect(response.fields.first { $0.name == "Content-Type" }?.value == "application/json")
        #expect(response.keepAlive)
    }

    @Test func chunkedBodiesAreJoined() throws {
        let whole = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nA;x=y\r\n0123456789\r\n0\r\n\r\n"
        #expect(try parse(String(whole.dropLast(2))) == nil)
        let response = try #require(try parse(whole))
        #expect(String(decoding: response.body, as: UTF8.self) == "abc0123456789")
    }

    @Test func connectionCloseAndHTTP10EndKeepAlive() throws {
        #expect(try parse("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")?.keepAlive == false)
        #expect(try parse("HTTP/1.0 503 Unavailable\r\nContent-Length: 0\r\n\r\n")?.keepAlive == false)
        // No length: the body runs to the end of the connection.
        #expect(try parse("HTTP/1.1 200 OK\r\n\r\nabc") == nil)
        #expect(try parse("HTTP/1.1 200 OK\r\n\r\nabc", atEnd: true)?.body == Array("abc".utf8))
    }

    @Test func bytesThatAreNotHTTPAreRefused() {
        #expect(throws: MalformedResponse.self) { _ = try parse("SSH-2.0-OpenSSH\r\n\r\n") }
        #expect(throws: MalformedResponse.self) { _ = try parse("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n") }
        #expect(throws: MalformedResponse.self) { _ = try parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n") }
    }
}
