import LockdHTTP
import LockdTestSupport
import LockdTransport
import Logging
import Testing

@testable import LockdHTTPCompression

/// A promised answer's response is compressed as one given at once: the
/// compressing responder adds its filter to the request's context, and the
/// promise that keeps the answer — the server's, or the one
/// ``HTTPAnswer/response(to:context:)`` makes — applies it.
@Suite("CompressingResponder: promised answers")
struct PromisedCompressionTests {
    static let loop: EventLoop = {
        do { return try EventLoop.spawn(name: "promised-compression-tests") } catch { fatalError("no event loop: \(error)") }
    }()

    /// A promise kept at once, and one kept later from the loop.
    static var router: Router {
        var router = Router()
        router.add(.get, "/promised/{size}", name: "promised") { _, context in
            let size = Int(context.parameters["size"] ?? "") ?? 0
            return .promised { _, _, promise in
                promise.succeed(HTTPResponse(status: .ok, headers: ["Content-Type": "application/json"], body: sampleJSON(size)))
            }
        }
        router.add(.get, "/later/{size}", name: "later") { _, context in
            let size = Int(context.parameters["size"] ?? "") ?? 0
            return .promised { _, context, promise in
                context.eventLoop.execute {
                    promise.succeed(HTTPResponse(status: .ok, headers: ["Content-Type": "application/json"], body: sampleJSON(size)))
                }
            }
        }
        return router
    }

    @Test("answered through respondByAnswering: gzip when accepted and large, as it is otherwise",
          arguments: ["/promised", "/later"])
    func byAnswering(_ route: String) async throws {
        let responder = CompressingResponder(wrapping: Self.router)
        let context = HTTPRequestContext(eventLoop: Self.loop, logger: Logger(label: "test"))
        let gzip = await responder.respondByAnswering(
            to: HTTPRequest(method: .get, path: "\(route)/5000", headers: ["Accept-Encoding": "gzip"]), context: context)
        #expect(gzip.headers["Content-Encoding"] == "gzip")
        #expect(gzip.headers["Vary"] == "Accept-Encoding")
        #expect(try Gunzip.inflate(gzip.body) == sampleJSON(5000))
        #expect(gzip.route == String(route.dropFirst()))
        let identity = await responder.respondByAnswering(to: HTTPRequest(method: .get, path: "\(route)/5000"), context: context)
        #expect(identity.headers["Content-Encoding"] == nil && identity.body == sampleJSON(5000))
        let small = await responder.respondByAnswering(
            to: HTTPRequest(method: .get, path: "\(route)/100", headers: ["Accept-Encoding": "gzip"]), context: context)
        #expect(small.headers["Content-Encoding"] == nil && small.body == sampleJSON(100))
    }

    @Test("answered by a server: gzip when accepted and large, as it is otherwise", arguments: ["/promised", "/later"])
    func byAServer(_ route: String) async throws {
        let group = try EventLoopGroup(loopCount: 1, namePrefix: "promised-compression")
        let server = HTTPServer(configuration: HTTPServerConfiguration(listenAddress: "127.0.0.1:0"),
                                responder: CompressingResponder(wrapping: Self.router), eventLoopGroup: group, logger: Logger(label: "test"))
        let port = try server.start()[0].port
        let client = try RawHTTPClient(port: port)
        try client.send("GET \(route)/5000 HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n")
        let gzip = try await client.readResponse()
        #expect(gzip.header("Content-Encoding") == "gzip")
        #expect(try Gunzip.inflate(gzip.body) == sampleJSON(5000))
        try client.send("GET \(route)/5000 HTTP/1.1\r\nHost: x\r\n\r\n")
        let identity = try await client.readResponse()
        #expect(identity.header("Content-Encoding") == nil && identity.body == sampleJSON(5000))
        client.close()
        await server.shutdown(gracePeriod: .seconds(1))
        group.shutdown()
    }
}
