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

    /// The same JSON body answered at once and promised, for every method.
    static var nowAndPromised: Router {
        var router = Router()
        for method in [HTTPMethod.get, .post] {
            router.add(method, "/now", name: "body") { _, _ in
                .now(HTTPResponse(status: .ok, headers: ["Content-Type": "application/json"], body: sampleJSON(5000)))
            }
            router.add(method, "/promised", name: "body") { _, _ in
                .promised { _, _, promise in
                    promise.succeed(HTTPResponse(status: .ok, headers: ["Content-Type": "application/json"], body: sampleJSON(5000)))
                }
            }
        }
        return router
    }

    // The promise keeps no request: its filter is chosen from the request's
    // Accept-Encoding and method as the answer is made. Whatever they say,
    // the promised response is the one given at once.
    @Test("a promised response is negotiated exactly as one given at once", arguments: [
        (HTTPMethod.get, nil), (.get, "gzip"), (.get, "identity"), (.get, "gzip;q=0.5, identity"), (.get, "identity;q=0"),
        (.get, "*;q=0"), (.get, "br, identity;q=0"), (.get, "gzip;q=0, identity;q=0"), (.get, "gzip, identity;q=0"),
        (.head, "gzip"), (.head, "identity;q=0"), (.post, "gzip"), (.post, "identity;q=0"), (.post, nil),
    ] as [(HTTPMethod, String?)])
    func promisedAsNow(_ method: HTTPMethod, _ acceptEncoding: String?) async throws {
        let responder = CompressingResponder(wrapping: Self.nowAndPromised)
        let context = HTTPRequestContext(eventLoop: Self.loop, logger: Logger(label: "test"))
        let headers: HTTPHeaders = acceptEncoding.map { ["Accept-Encoding": $0] } ?? [:]
        let now = await responder.respondByAnswering(to: HTTPRequest(method: method, path: "/now", headers: headers), context: context)
        let promised = await responder.respondByAnswering(
            to: HTTPRequest(method: method, path: "/promised", headers: headers), context: context)
        #expect(promised.status == now.status)
        #expect(Array(promised.headers).map { "\($0.name): \($0.value)" } == Array(now.headers).map { "\($0.name): \($0.value)" })
        #expect(promised.body == now.body)
        #expect(promised.route == now.route)
        // What each request must get, so that the two cannot agree on a wrong answer.
        let refused = acceptEncoding.map { AcceptEncoding([$0]).preferred == nil } ?? false
        if refused && method != .post {
            #expect(now.status.code == 406)
        } else {
            #expect(now.status.code == 200)
            #expect(now.headers["Vary"] == "Accept-Encoding")
            let gzip = acceptEncoding.map { AcceptEncoding([$0]).preferred == .gzip } ?? false
            #expect(now.headers["Content-Encoding"] == (gzip ? "gzip" : nil))
        }
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
        // The filter was chosen by the request's method and Accept-Encoding: a
        // GET refusing both codings gets a 406, a POST the response as it is.
        try client.send("GET \(route)/5000 HTTP/1.1\r\nHost: x\r\nAccept-Encoding: identity;q=0\r\n\r\n")
        let refused = try await client.readResponse()
        #expect(refused.status == 406 && refused.header("Vary") == "Accept-Encoding")
        client.close()
        await server.shutdown(gracePeriod: .seconds(1))
        group.shutdown()
    }
}
