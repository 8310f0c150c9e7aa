import LockdHTTP
import LockdTestSupport
import LockdTransport
import Logging
import Synchronization
import Testing

@testable import LockdHTTPCompression

@Suite("CompressingResponder: what gets compressed, Vary, 406 and 415")
struct CompressingResponderTests {
    static let loop: EventLoop = {
        do { return try EventLoop.spawn(name: "compression-tests") } catch { fatalError("no event loop: \(error)") }
    }()

    /// Counts the requests its routes answered.
    final class Routes: Sendable {
        let calls = Atomic<Int>(0)
        let spec = PrecompressedBody(sampleJSON(30_000), contentType: "application/yaml")

        var router: Router {
            var router = Router()
            func add(_ method: HTTPMethod, _ path: String, _ response: @escaping @Sendable (HTTPRequest) -> HTTPResponse) {
                router.add(method, path) { [self] request, _ in
                    calls.add(1, ordering: .relaxed)
                    return response(request)
                }
            }
            add(.get, "/json") { _ in
                HTTPResponse(status: .ok, headers: ["Content-Type": "application/json"], body: sampleJSON(5000))
            }
            add(.get, "/sized") { request in
                HTTPResponse(status: .ok, headers: ["Content-Type": "application/json; charset=utf-8"],
                             body: sampleJSON(Int(request.query ?? "") ?? 0))
            }
            add(.get, "/typed") { request in
                HTTPResponse(status: .ok, headers: ["Content-Type": request.headers["X-Type"] ?? ""], body: sampleJSON(5000))
            }
            add(.get, "/untyped") { _ in HTTPResponse(status: .ok, body: sampleJSON(5000)) }
            add(.get, "/encoded") { _ in
                HTTPResponse(status: .ok, headers: ["Content-Type": "text/plain", "Content-Encoding": "br"], body: sampleJSON(5000))
            }
            add(.get, "/random") { _ in
                var random = SplitMix64(seed: 3)
                return HTTPResponse(status: .ok, headers: ["Content-Type": "text/plain"],
                                    body: (0..<5000).map { _ in UInt8.random(in: 0...255, using: &random) })
            }
            add(.get, "/spec") { [spec] request in spec.response(to: request) }
            add(.post, "/act") { _ in
                HTTPResponse(status: .created, headers: ["Content-Type": "application/json"], body: sampleJSON(3000))
            }
            add(.get, "/vary-accept") { _ in
                HTTPResponse(status: .ok, headers: ["Content-Type": "text/html", "Vary": "Accept"], body: sampleJSON(5000))
            }
            return router
        }
    }

    private let routes = Routes()

    private func get(_ path: String, query: String? = nil, _ headers: HTTPHeaders = [:]) async -> HTTPResponse {
        await respond(.get, path, query: query, headers)
    }

    private func respond(_ method: HTTPMethod, _ path: String, query: String? = nil, _ headers: HTTPHeaders = [:]) async -> HTTPResponse {
        let responder = CompressingResponder(wrapping: routes.router)
        let context = HTTPRequestContext(eventLoop: Self.loop, logger: Logger(label: "test"))
        return await responder.respond(to: HTTPRequest(method: method, path: path, query: query, headers: headers), context: context)
    }

    @Test("a large JSON body is gzip when accepted, identity otherwise; both say Vary")
    func gzipOrIdentity() async throws {
        let gzip = await get("/json", ["Accept-Encoding": "gzip, deflate, br"])
        #expect(gzip.headers["Content-Encoding"] == "gzip")
        #expect(gzip.headers["Vary"] == "Accept-Encoding")
        #expect(gzip.headers["Content-Type"] == "application/json")
        #expect(gzip.body.count < 2500)
        #expect(try Gunzip.inflate(gzip.body) == sampleJSON(5000))

        for headers: HTTPHeaders in [[:], ["Accept-Encoding": "gzip;q=0"], ["Accept-Encoding": "br"]] {
            let identity = await get("/json", headers)
            #expect(identity.headers["Content-Encoding"] == nil)
            #expect(identity.headers["Vary"] == "Accept-Encoding", "\(headers)")
            #expect(identity.body == sampleJSON(5000))
        }
    }

    @Test("bodies of at most 1 KiB are never compressed and vary on nothing", arguments: [0, 2, 200, 1000, 1024])
    func smallBodiesStayIdentity(_ size: Int) async {
        let response = await get("/sized", query: "\(size)", ["Accept-Encoding": "gzip"])
        #expect(response.headers["Content-Encoding"] == nil)
        #expect(!response.headers.contains("Vary"))
        #expect(response.body == sampleJSON(size))
    }

    @Test("1 KiB and one byte is compressed")
    func justOverTheThreshold() async throws {
        let response = await get("/sized", query: "1025", ["Accept-Encoding": "gzip"])
        #expect(response.headers["Content-Encoding"] == "gzip")
        #expect(try Gunzip.inflate(response.body) == sampleJSON(1025))
    }

    @Test("compressible types", arguments: [
        ("application/json", true), ("application/problem+json", true), ("Application/JSON; charset=utf-8", true),
        ("application/yaml", true), ("application/x-yaml", true), ("text/plain; version=0.0.4", true),
        ("text/html", true), ("text/css", true), ("application/vnd.api+json", true),
        ("text/event-stream", false), ("application/octet-stream", false), ("image/png", false), ("", false),
        ("application/jsonx", false),
    ])
    func compressibleTypes(_ type: String, _ compressed: Bool) async {
        let response = await get("/typed", ["Accept-Encoding": "gzip", "X-Type": type])
        #expect((response.headers["Content-Encoding"] == "gzip") == compressed, "\(type)")
        #expect(response.headers.contains("Vary") == compressed, "\(type)")
    }

    @Test("no Content-Type, an encoding already set, or a body gzip cannot shrink: sent as they are")
    func leftAlone() async {
        let untyped = await get("/untyped", ["Accept-Encoding": "gzip"])
        #expect(untyped.headers["Content-Encoding"] == nil)
        let encoded = await get("/encoded", ["Accept-Encoding": "gzip"])
        #expect(encoded.headers["Content-Encoding"] == "br")
        #expect(encoded.body == sampleJSON(5000))
        let random = await get("/random", ["Accept-Encoding": "gzip"])
        #expect(random.headers["Content-Encoding"] == nil)
        #expect(random.headers["Vary"] == "Accept-Encoding")
        #expect(random.body.count == 5000)
    }

    @Test("a Vary the handler set is kept, and Accept-Encoding added beside it")
    func otherVaryKept() async {
        let response = await get("/vary-accept", ["Accept-Encoding": "gzip"])
        #expect(response.headers.values(for: "Vary") == ["Accept", "Accept-Encoding"])
        #expect(response.headers["Content-Encoding"] == "gzip")
    }

    @Test("refusing identity and gzip: 406 for GET and HEAD", arguments: ["identity;q=0", "*;q=0", "br, identity;q=0", "gzip;q=0, *;q=0"])
    func notAcceptable(_ accept: String) async {
        for method in [HTTPMethod.get, .head] {
            let response = await respond(method, "/json", ["Accept-Encoding": accept])
            #expect(response.status.code == 406)
            #expect(response.headers["Content-Type"] == "application/problem+json")
            #expect(response.headers["Vary"] == "Accept-Encoding")
            #expect(String(decoding: response.body, as: UTF8.self).contains(#""type":"not-acceptable""#))
        }
    }

    @Test("refusing both on a POST: the work is done, so its answer goes out as it is")
    func notAcceptableAfterWork() async {
        let response = await respond(.post, "/act", ["Accept-Encoding": "identity;q=0"])
        #expect(response.status.code == 201)
        #expect(response.headers["Content-Encoding"] == nil)
        #expect(response.body == sampleJSON(3000))
    }

    @Test("HEAD is answered exactly as GET, body included (the server drops it)", arguments: ["gzip", "", "identity"])
    func headMatchesGet(_ accept: String) async {
        let get = await respond(.get, "/json", ["Accept-Encoding": accept])
        let head = await respond(.head, "/json", ["Accept-Encoding": accept])
        #expect(head.status == get.status)
        #expect(head.headers == get.headers)
        #expect(head.body == get.body)
    }

    @Test("a precompressed body is negotiated once and passed through untouched")
    func precompressed() async throws {
        let spec = routes.spec
        let gzipBody = try #require(spec.gzip)
        #expect(try Gunzip.inflate(gzipBody) == spec.identity)
        let gzip = await get("/spec", ["Accept-Encoding": "gzip"])
        #expect(gzip.body == gzipBody)
        #expect(gzip.headers["Content-Encoding"] == "gzip")
        #expect(gzip.headers.values(for: "Vary") == ["Accept-Encoding"])
        let identity = await get("/spec")
        #expect(identity.body == spec.identity)
        #expect(identity.headers.values(for: "Vary") == ["Accept-Encoding"])
        #expect(await get("/spec", ["Accept-Encoding": "identity;q=0"]).status.code == 406)
        // Too small to be worth it, or of a type gzip does not shrink: never compressed.
        #expect(PrecompressedBody(sampleJSON(1024), contentType: "application/json").gzip == nil)
        #expect(PrecompressedBody(sampleJSON(5000), contentType: "image/png").gzip == nil)
    }

    @Test("a request body in a coding lockd does not decode: 415, and the handler never runs", arguments: [
        ["Content-Encoding": "gzip"], ["Content-Encoding": "GZIP"], ["Content-Encoding": "br"], ["Content-Encoding": "identity, gzip"],
        ["Content-Encoding": "x-anything"], ["Content-Encoding": "identity", "content-encoding": "deflate"],
    ] as [HTTPHeaders])
    func unsupportedRequestCoding(_ headers: HTTPHeaders) async throws {
        let response = await respond(.post, "/act", headers)
        #expect(response.status.code == 415)
        #expect(response.headers["Content-Type"] == "application/problem+json")
        #expect(response.headers["Accept-Encoding"] == "identity")
        #expect(String(decoding: response.body, as: UTF8.self).contains(#""type":"unsupported-media-type""#))
        #expect(routes.calls.load(ordering: .relaxed) == 0)
    }

    @Test("Content-Encoding: identity (or empty) is no coding at all", arguments: [
        ["Content-Encoding": "identity"], ["Content-Encoding": "Identity"], ["Content-Encoding": ""],
    ] as [HTTPHeaders])
    func identityRequestCoding(_ headers: HTTPHeaders) async {
        #expect(await respond(.post, "/act", headers).status.code == 201)
        #expect(routes.calls.load(ordering: .relaxed) == 1)
    }
}

/// `count` bytes of JSON-like text that compresses well (cut where the count falls).
func sampleJSON(_ count: Int) -> [UInt8] {
    var text = #"{"locks":["#
    var index = 0
    while text.utf8.count < count {
        text += #"{"name":"orders:\#(index)","held":true},"#
        index += 1
    }
    return Array(text.utf8.prefix(count))
}
