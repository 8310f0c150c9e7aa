import LockdTestSupport
import LockdTransport
import Logging
import Testing

@testable import LockdHTTP

/// A request answered in place gives its fields' and body's storage back to
/// its loop, and the next request decoded on that loop — on any connection —
/// writes its own there. Each request must see exactly its own fields and
/// body: nothing left from the storage's last user, nothing lost to the next
/// one; a request still held by a task keeps its own.
@Suite struct SpareRequestStorageTests {
    /// The request's fields, one `name: value` line each, as the responder saw them.
    private static func echo(_ request: HTTPRequest) -> HTTPResponse {
        HTTPResponse(status: .ok, body: Array(request.headers.map { "\($0.name): \($0.value)\n" }.joined().utf8))
    }

    private static func request(_ path: String, _ fields: [(String, String)]) -> String {
        "GET \(path) HTTP/1.1\r\n" + fields.map { "\($0.0): \($0.1)\r\n" }.joined() + "\r\n"
    }

    private static func expected(_ fields: [(String, String)]) -> String {
        fields.map { "\($0.0): \($0.1)\n" }.joined()
    }

    @Test func eachRequestSeesOnlyItsOwnFieldsWhileTheStorageGoesRound() async throws {
        let gate = Gate()
        var router = Router()
        router.add(.get, "/now", answer: { request, _ in .now(Self.echo(request)) })
        router.add(.get, "/held") { request, _ in
            await gate.wait()
            return Self.echo(request)
        }
        router.add(.post, "/now", answer: { request, _ in .now(HTTPResponse(status: .ok, body: request.body)) })
        router.add(.post, "/held") { request, _ in
            await gate.wait()
            return HTTPResponse(status: .ok, body: request.body)
        }
        // One loop: every connection's requests share its spare.
        let group = try EventLoopGroup(loopCount: 1, namePrefix: "spare-test")
        let server = HTTPServer(configuration: HTTPServerConfiguration(listenAddress: "127.0.0.1:0"), responder: router,
                                eventLoopGroup: group, logger: Logger(label: "test"))
        let port = try server.start()[0].port
        defer { group.shutdown() }

        // Held by its task while the others reuse storage on the same loop.
        let heldFields = [("Host", "held"), ("X-Held", String(repeating: "h", count: 300)), ("X-Other", "kept")]
        let heldClient = try RawHTTPClient(port: port)
        try heldClient.send(Self.request("/held", heldFields))

        // Sizes that shrink and grow, so leftovers or truncation would show;
        // one past the spare's cap (not kept), and one field alone.
        let fieldSets: [[(String, String)]] = [
            [("Host", "a"), ("X-Long", String(repeating: "x", count: 200)), ("X-Three", "3")],
            [("Host", "b")],
            [("HOST", "g")],
            [("Host", "c"), ("X-Huge", String(repeating: "y", count: SpareRequestStorage.maxCapacity))],
            [("Host", "d"), ("Accept", "*/*")],
            [("host", "")],
            [("Host", "e"), ("X-A", "1"), ("X-B", "2"), ("X-C", "3"), ("X-D", "4")],
            [("Host", "f")],
        ]
        let clients = try (0..<2).map { _ in try RawHTTPClient(port: port) }
        for round in 0..<3 {
            for (index, fields) in fieldSets.enumerated() {
                let client = clients[(index + round) % clients.count]
                try client.send(Self.request("/now", fields))
                let response = try await client.readResponse()
                #expect(response.status == 200)
                #expect(String(decoding: response.body, as: UTF8.self) == Self.expected(fields), "round \(round), set \(index)")
            }
            // Pipelined on one connection: decoded from one read, one after another.
            try clients[0].send(fieldSets.map { Self.request("/now", $0) }.joined())
            for (index, fields) in fieldSets.enumerated() {
                let response = try await clients[0].readResponse()
                #expect(String(decoding: response.body, as: UTF8.self) == Self.expected(fields), "pipelined, round \(round), set \(index)")
            }
        }

        // Bodies that shrink and grow, by length and chunked, one past the cap.
        let heldBody = String(repeating: "held body ", count: 30)
        let heldBodyClient = try RawHTTPClient(port: port)
        try heldBodyClient.send("POST /held HTTP/1.1\r\nHost: h\r\nContent-Length: \(heldBody.utf8.count)\r\n\r\n\(heldBody)")
        let bodies = [String(repeating: "a", count: 300), "b", "", String(repeating: "c", count: SpareRequestStorage.maxCapacity + 1), "dd", String(repeating: "e", count: 40)]
        for round in 0..<2 {
            for (index, body) in bodies.enumerated() {
                let client = clients[(index + round) % clients.count]
                if index % 2 == 0 {
                    try client.send("POST /now HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
                } else {
                    let chunks = body.isEmpty ? "" : String(body.utf8.count, radix: 16) + "\r\n" + body + "\r\n"
                    try client.send("POST /now HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\(chunks)0\r\n\r\n")
                }
                let response = try await client.readResponse()
                #expect(String(decoding: response.body, as: UTF8.self) == body, "round \(round), body \(index)")
            }
        }

        gate.open()
        let held = try await heldClient.readResponse()
        #expect(String(decoding: held.body, as: UTF8.self) == Self.expected(heldFields))
        let heldBodyResponse = try await heldBodyClient.readResponse()
        #expect(String(decoding: heldBodyResponse.body, as: UTF8.self) == heldBody)
        await server.shutdown(gracePeriod: .seconds(1))
    }

    /// The path's storage goes round too: each request routes and reads
    /// back exactly its own path (longer, shorter, past the spare's cap, with
    /// a query), while one held by its task keeps its own.
    @Test func eachRequestRoutesAndReadsItsOwnPathWhileItsStorageGoesRound() async throws {
        let gate = Gate()
        var router = Router()
        router.add(.get, "/p/{name}", answer: { request, context in
            .now(HTTPResponse(status: .ok, body: Array("\(request.path) \(context.parameters["name"] ?? "-")".utf8)))
        })
        // Answered after the read that decoded it: the exchange hands the
        // path's storage to the spare as the answer ends.
        router.add(.get, "/promised/{name}") { request, context in
            let body = Array("\(request.path) \(context.parameters["name"] ?? "-")".utf8)
            return .promised { _, context, promise in
                context.eventLoop.execute { promise.succeed(HTTPResponse(status: .ok, body: body)) }
            }
        }
        // An absolute-form target without a path is `/`: one byte replacing a longer path.
        router.add(.get, "/", answer: { request, _ in .now(HTTPResponse(status: .ok, body: Array("root \(request.path)".utf8))) })
        router.add(.get, "/held/{name}") { request, context in
            await gate.wait()
            return HTTPResponse(status: .ok, body: Array("\(request.path) \(context.parameters["name"] ?? "-")".utf8))
        }
        let group = try EventLoopGroup(loopCount: 1, namePrefix: "spare-path-test")
        let server = HTTPServer(configuration: HTTPServerConfiguration(listenAddress: "127.0.0.1:0"), responder: router,
                                eventLoopGroup: group, logger: Logger(label: "test"))
        let port = try server.start()[0].port
        defer { group.shutdown() }

        let heldName = String(repeating: "h", count: 90)
        let held = try RawHTTPClient(port: port)
        try held.send("GET /held/\(heldName) HTTP/1.1\r\nHost: x\r\n\r\n")
        let names = ["a", String(repeating: "b", count: 70), "c%2Fd", String(repeating: "e", count: SpareRequestStorage.maxCapacity + 10),
                     "ff", String(repeating: "g", count: 63), "h?x=1", "i"]
        let client = try RawHTTPClient(port: port)
        for round in 0..<3 {
            for (index, name) in names.enumerated() {
                let prefix = (index + round) % 2 == 0 ? "/p/" : "/promised/"
                try client.send("GET \(prefix)\(name) HTTP/1.1\r\nHost: x\r\n\r\n")
                let response = try await client.readResponse()
                let path = prefix + (name.split(separator: "?").first.map(String.init) ?? "")
                let decoded = String(path.dropFirst(prefix.count)).replacingOccurrences(of: "%2F", with: "/")
                #expect(String(decoding: response.body, as: UTF8.self) == "\(path) \(decoded)", "round \(round), \(name.prefix(10))")
            }
            try client.send("GET http://x HTTP/1.1\r\nHost: x\r\n\r\n")
            let root = try await client.readResponse()
            #expect(String(decoding: root.body, as: UTF8.self) == "root /", "round \(round)")
        }
        gate.open()
        let heldResponse = try await held.readResponse()
        #expect(String(decoding: heldResponse.body, as: UTF8.self) == "/held/\(heldName) \(heldName)")
        await server.shutdown(gracePeriod: .seconds(1))
    }

    /// An exchange whose answer ended after its request let go of the path
    /// gives the spare that storage, as it is — unless the spare has one, or
    /// it is past the cap; the exchange holds none after, either way.
    @Test func anExchangesPathGoesToASpareThatLacksOne() {
        func exchange(_ path: String) -> HTTPExchange {
            HTTPExchange(method: .get, path: path, route: nil, status: .ok, durationNanoseconds: 0,
                         requestID: HTTPRequestID(prefix: "", number: 1), remoteAddress: nil)
        }
        var spare = SpareRequestStorage()
        var first = exchange("/locks/first")
        spare.keepPath(of: &first)
        #expect(first.pathBytes == nil)
        // Kept as it was: the next request's path replaces it.
        #expect(spare.path == Array("/locks/first".utf8))
        let capacity = spare.path.capacity
        var second = exchange("/locks/second-one")
        spare.keepPath(of: &second)
        #expect(second.pathBytes == nil)
        #expect(spare.path.capacity == capacity)
        var empty = SpareRequestStorage()
        var huge = exchange("/" + String(repeating: "x", count: SpareRequestStorage.maxCapacity))
        empty.keepPath(of: &huge)
        #expect(huge.pathBytes == nil)
        #expect(empty.path.capacity == 0)
    }
}
