import LockdTestSupport
import LockdTransport
import Logging
import Testing

@testable import LockdHTTP

/// Review 15: the loop's spare request storage must never put one request's
/// body bytes into another's. A chunked request whose head was decoded while
/// the spare had no body holds no body storage until its first chunk; if
/// another connection's request gives the spare its body meanwhile, the
/// chunk must still be the whole body of its own request.
@Suite struct Review15SpareBodyTests {
    @Test func aChunkedBodyNeverStartsWithAnotherRequestsBody() async throws {
        var router = Router()
        router.add(.post, "/echo", answer: { request, _ in .now(HTTPResponse(status: .ok, body: request.body)) })
        // One loop: both connections' requests share its spare.
        let group = try EventLoopGroup(loopCount: 1, namePrefix: "review15-spare-body")
        let server = HTTPServer(configuration: HTTPServerConfiguration(listenAddress: "127.0.0.1:0"), responder: router,
                                eventLoopGroup: group, logger: Logger(label: "test"))
        let port = try server.start()[0].port
        defer { group.shutdown() }

        // The chunked request's head, decoded on a fresh loop (an empty
        // spare): the 100 Continue says the server has read it, and it has
        // no body byte yet.
        let chunked = try RawHTTPClient(port: port)
        try chunked.send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n")
        #expect(try await chunked.readResponse().status == 100)

        // Another connection's request, answered in place, gives the spare its body.
        let other = try RawHTTPClient(port: port)
        let otherBody = #"{"ttl_ms":60000,"owner":"someone else"}"#
        try other.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: \(otherBody.utf8.count)\r\n\r\n\(otherBody)")
        let otherResponse = try await other.readResponse()
        #expect(String(decoding: otherResponse.body, as: UTF8.self) == otherBody)

        // The chunked request's body is its chunk, and nothing else.
        try chunked.send("5\r\nhello\r\n0\r\n\r\n")
        let response = try await chunked.readResponse()
        #expect(response.status == 200)
        #expect(String(decoding: response.body, as: UTF8.self) == "hello")
        await server.shutdown(gracePeriod: .seconds(1))
    }
}
