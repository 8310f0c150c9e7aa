import LockdTestSupport
import LockdTransport
import Logging
import Synchronization
import Testing

@testable import LockdHTTP

/// Every response gets an `X-Request-Id` and is reported to the server's
/// observer once — routed answers, 404, 405, and the server's own answers to
/// requests it could not read.
@Suite struct HTTPExchangeTests {
    @Test func everyResponseIsReportedOnceWithItsRouteStatusAndId() async throws {
        try await Self.withServer { port, exchanges in
            let client = try await offThePool { try RawHTTPClient(port: port) }
            defer { client.close() }
            var ids: [String?] = []
            for request in [
                "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n",
                "GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n",
                // The route the first was named is kept by the connection's
                // context (wip-http30), for none but a request named so again.
                "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n",
                "DELETE /hello HTTP/1.1\r\nHost: x\r\n\r\n",
                "POST /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n",
            ] {
                try client.send(request)
                ids.append(try await client.readResponse().header("X-Request-Id"))
            }
            let reported = try #require(await Self.reported(exchanges, count: 5))
            #expect(reported.map(\.status.code) == [200, 404, 200, 405, 413])
            #expect(reported.map(\.route) == ["hello", nil, "hello", nil, nil])
            #expect(reported.map(\.method) == [.get, .get, .get, .delete, nil])
            #expect(reported.map(\.path) == ["/hello", "/nowhere", "/hello", "/hello", nil])
            #expect(reported.map { $0.requestID.description } == ids.compactMap { $0 })
            #expect(Set(ids.compactMap { $0 }).count == 5, "ids repeat or are missing: \(ids)")
            #expect(reported[0].durationNanoseconds > 0 && reported[0].durationNanoseconds < 5_000_000_000)
        }
    }

    /// An observer that says it reads no path is told of an answer given
    /// as its request is read without one (the exchange does not hold the
    /// request's path then); everything else it is told is the same, and
    /// each request still sees its own path, whichever way the one before
    /// it was answered. An observer that reads paths gets every one.
    @Test func anObserverThatReadsNoPathGetsNoneForAnAnswerGivenAtOnce() async throws {
        let requests = ["/now", "/later", "/param/a1", "/now", "/param/b22", "/later", "/inspect"]
        for readsPath in [false, true] {
            try await Self.withServer(readsPath: readsPath) { port, exchanges in
                let client = try await offThePool { try RawHTTPClient(port: port) }
                defer { client.close() }
                var bodies: [String] = []
                for path in requests {
                    try client.send("GET \(path) HTTP/1.1\r\nHost: x\r\n\r\n")
                    bodies.append(try await client.readResponse().text)
                }
                #expect(bodies[2].hasPrefix("id=a1 ") && bodies[4].hasPrefix("id=b22 "), "\(bodies)")
                let reported = try #require(await Self.reported(exchanges, count: requests.count))
                #expect(reported.map(\.status.code) == Array(repeating: 200, count: requests.count))
                #expect(reported.map(\.route) == ["now", "later", "param", "now", "param", "later", "inspect"])
                #expect(reported.map(\.method) == Array(repeating: .get, count: requests.count))
                let expectedPaths: [String?] = readsPath ? requests : [nil, "/later", nil, nil, nil, "/later", nil]
                #expect(reported.map(\.path) == expectedPaths, "readsPath \(readsPath)")
            }
        }
    }

    @Test func aClientsIdAndTraceparentReachTheResponderAndComeBack() async throws {
        try await Self.withServer { port, _ in
            let client = try await offThePool { try RawHTTPClient(port: port) }
            defer { client.close() }
            let trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
            try client.send("GET /context HTTP/1.1\r\nHost: x\r\nX-Request-Id: order-42\r\ntraceparent: \(trace)\r\n\r\n")
            let response = try await client.readResponse()
            #expect(response.header("X-Request-Id") == "order-42")
            #expect(response.text == "order-42 \(trace) order-42")
            // A malformed traceparent is not passed on.
            try client.send("GET /context HTTP/1.1\r\nHost: x\r\ntraceparent: 00-nope\r\n\r\n")
            let second = try await client.readResponse()
            let id = try #require(second.header("X-Request-Id"))
            #expect(second.text == "\(id) - \(id)")
        }
    }

    /// A connection keeps its request context from one request to the
    /// next: nothing the last request's answer set in it — the route's
    /// name, the path's parameters, the client's `traceparent` — is seen by
    /// the next request's responder.
    @Test func nothingAnAnswerSetInTheContextReachesTheNextRequest() async throws {
        try await Self.withServer { port, _ in
            let client = try await offThePool { try RawHTTPClient(port: port) }
            defer { client.close() }
            let trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
            try client.send("GET /param/abc HTTP/1.1\r\nHost: x\r\ntraceparent: \(trace)\r\n\r\n")
            #expect(try await client.readResponse().text == "id=abc count=1 route=- trace=\(trace)")
            try client.send("GET /inspect HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try await client.readResponse().text == "id=- count=0 route=- trace=-")
            try client.send("GET /param/xyz HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try await client.readResponse().text == "id=xyz count=1 route=- trace=-")
        }
    }

    /// A handler that answers at once runs on the loop without a task, one
    /// that defers runs in a task; both see the request's log metadata and
    /// are reported under their routes.
    @Test func answersAtOnceRunWithoutATaskAndDeferredOnesInOne() async throws {
        try await Self.withServer { port, exchanges in
            let client = try await offThePool { try RawHTTPClient(port: port) }
            defer { client.close() }
            for (path, runs) in [("now", "no task"), ("later", "task"), ("now", "no task")] {
                try client.send("GET /\(path) HTTP/1.1\r\nHost: x\r\nX-Request-Id: id-\(path)\r\n\r\n")
                let response = try await client.readResponse()
                #expect(response.status == 200)
                #expect(response.text == "\(runs) id-\(path)")
            }
            let reported = try #require(await Self.reported(exchanges, count: 3))
            #expect(reported.map(\.route) == ["now", "later", "now"])
        }
    }

    @Test(arguments: [
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", true),
        ("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", true),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", false),
        ("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", false),
        ("00-00000000000000000000000000000000-00f067aa0ba902b7-01", false),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", false),
        ("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", false),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7", false),
        ("", false),
    ])
    func traceparentsAreCheckedBeforeTheyAreLogged(value: String, valid: Bool) {
        #expect((HTTPRequestLogMetadata.validTraceParent(value) != nil) == valid)
    }

    @Test func requestIdsAreVisibleASCIIOfBoundedLengthAndMadeOnesFormatOnce() {
        #expect(HTTPRequestID(received: "abc-123_XYZ.:/") != nil)
        #expect(HTTPRequestID(received: String(repeating: "a", count: 128)) != nil)
        for bad in ["", String(repeating: "a", count: 129), "with space", "quo\"te", "back\\slash", "tab\t", "é"] {
            #expect(HTTPRequestID(received: bad) == nil, "\(bad) was accepted")
        }
        for number: UInt64 in [0, 1, 15, 16, 0xdead_beef, .max] {
            let id = HTTPRequestID(prefix: "p-", number: number)
            var counter = ByteCounter()
            id.write(to: &counter)
            let bytes = [UInt8](unsafeUninitializedCapacity: counter.count) { space, initialized in
                guard let base = space.baseAddress else { return }
                var writer = PointerWriter(next: base)
                id.write(to: &writer)
                initialized = writer.next - base
            }
            #expect(String(decoding: bytes, as: UTF8.self) == id.description)
            #expect(id.description == "p-" + String(number, radix: 16))
        }
    }

    // MARK: Fixture

    /// Whether the handler runs in a task, and the request id its log lines carry.
    private static func whereItRuns() -> String {
        let inTask = withUnsafeCurrentTask { $0 != nil }
        return "\(inTask ? "task" : "no task") \(HTTPRequestLogMetadata.current?.requestID.description ?? "none")"
    }

    private final class Recorder: HTTPExchangeObserver {
        let exchanges = Mutex<[HTTPExchange]>([])
        let readsPath: Bool
        init(readsPath: Bool = true) { self.readsPath = readsPath }
        func answered(_ exchange: inout HTTPExchange) { exchanges.withLock { $0.append(exchange) } }
    }

    private static func reported(_ recorder: Recorder, count: Int) async -> [HTTPExchange]? {
        guard await eventually(within: .seconds(5), { recorder.exchanges.withLock { $0.count } >= count }) else { return nil }
        return recorder.exchanges.withLock { $0 }
    }

    private static func withServer(readsPath: Bool = true, _ body: (UInt16, Recorder) async throws -> Void) async throws {
        var router = Router()
        router.add(.get, "/hello", name: "hello") { _, _ in HTTPResponse(status: .ok, body: Array("hi".utf8)) }
        router.add(.get, "/context") { _, context in
            let scoped = HTTPRequestLogMetadata.current?.requestID.description ?? "none"
            let text = "\(context.requestID) \(context.traceParent ?? "-") \(scoped)"
            return HTTPResponse(status: .ok, body: Array(text.utf8))
        }
        router.add(.get, "/now", name: "now") { _, _ in .now(HTTPResponse(status: .ok, body: Array(whereItRuns().utf8))) }
        // What the context holds as the answer begins (the router names the route after it).
        let inspect: Router.Answerer = { _, context in
            let text = "id=\(context.parameters["id"] ?? "-") count=\(context.parameters.count) route=\(context.route ?? "-") "
                + "trace=\(context.traceParent ?? "-")"
            return .now(HTTPResponse(status: .ok, body: Array(text.utf8)))
        }
        router.add(.get, "/param/{id}", name: "param", answer: inspect)
        router.add(.get, "/inspect", name: "inspect", answer: inspect)
        router.add(.get, "/later", name: "later") { _, _ in
            .later { _, _ in
                await Task.yield()
                return HTTPResponse(status: .ok, body: Array(whereItRuns().utf8))
            }
        }
        let recorder = Recorder(readsPath: readsPath)
        let group = try EventLoopGroup(loopCount: 1, namePrefix: "exchange-test")
        var configuration = HTTPServerConfiguration(listenAddress: "127.0.0.1:0")
        configuration.maxBodyLength = 1024
        let server = HTTPServer(configuration: configuration, responder: router, eventLoopGroup: group,
                                logger: Logger(label: "test"), observer: recorder)
        try await server.serving(on: group) { port in try await body(port, recorder) }
    }
}
