import LockdTestSupport
import LockdTransport
import Logging
import Testing

@testable import LockdHTTP

/// wip-http32: a response answered ``HTTPAnswer/shared(_:)`` is written
/// exactly as the same response answered ``HTTPAnswer/now(_:)`` — status,
/// every field, body, `HEAD`'s head alone, HTTP/1.0's close, the request's
/// id — request after request on one connection, and the shared response
/// itself is never changed by being answered.
@Suite struct SharedHTTPResponseTests {
    private static let response = HTTPResponse(
        status: HTTPStatus(code: 299, reason: "Shared"),
        headers: ["Content-Type": "application/json", "X-Extra": "ü-value", "Vary": "Accept"],
        body: Array(#"{"status":"ok","padding":"0123456789abcdef"}"#.utf8))

    @Test func writtenAsTheSameResponseAnsweredNow() async throws {
        let shared = SharedHTTPResponse(Self.response)
        var router = Router()
        router.add(.get, "/now", name: "now") { _, _ in .now(Self.response) }
        router.add(.get, "/shared", name: "shared") { _, _ in .shared(shared) }
        router.add(.head, "/now", name: "now") { _, _ in .now(Self.response) }
        router.add(.head, "/shared", name: "shared") { _, _ in .shared(shared) }
        let group = try EventLoopGroup(loopCount: 1, namePrefix: "http32-shared")
        let server = HTTPServer(configuration: HTTPServerConfiguration(listenAddress: "127.0.0.1:0"), responder: router,
                                eventLoopGroup: group, logger: Logger(label: "test"))
        try await server.serving(on: group) { port in
            let client = try await offThePool { try RawHTTPClient(port: port) }
            defer { client.close() }
            for round in 0..<3 {
                for method in ["GET", "HEAD"] {
                    var answers: [RawHTTPResponse] = []
                    for path in ["/now", "/shared"] {
                        try client.send("\(method) \(path) HTTP/1.1\r\nHost: x\r\nX-Request-Id: r-\(round)-\(method)\r\n\r\n")
                        answers.append(try await client.readResponse(headOnly: method == "HEAD"))
                    }
                    #expect(answers[1].status == 299)
                    #expect(Self.withoutDate(answers[1]) == Self.withoutDate(answers[0]), "\(method), round \(round)")
                    #expect(answers[1].body == answers[0].body)
                    #expect(answers[1].body == (method == "HEAD" ? [] : Self.response.body))
                }
            }
            // HTTP/1.0: the same close, from both.
            for path in ["/now", "/shared"] {
                let closing = try await offThePool { try RawHTTPClient(port: port) }
                defer { closing.close() }
                try closing.send("GET \(path) HTTP/1.0\r\nX-Request-Id: old\r\n\r\n")
                let bytes = try await closing.readUntilClosed()
                let text = String(decoding: bytes, as: UTF8.self)
                #expect(text.hasPrefix("HTTP/1.1 299 Shared\r\n"), "\(path)")
                #expect(text.contains("\r\nConnection: close\r\n"), "\(path)")
                #expect(text.hasSuffix(#"{"status":"ok","padding":"0123456789abcdef"}"#), "\(path)")
            }
        }
        // Answered nine times, the shared response is as it was made.
        #expect(shared.response.status.code == 299)
        #expect(shared.response.headers == Self.response.headers)
        #expect(shared.response.body == Self.response.body)
    }

    @Test func awaitedAsItsResponse() async {
        let shared = SharedHTTPResponse(Self.response)
        let loop = RouterTests.loop
        let context = HTTPRequestContext(eventLoop: loop, logger: Logger(label: "test"))
        let response = await HTTPAnswer.shared(shared).response(to: HTTPRequest(method: .get, path: "/"), context: context)
        #expect(response.status.code == 299)
        #expect(response.headers == Self.response.headers)
        #expect(response.body == Self.response.body)
    }

    private static func withoutDate(_ response: RawHTTPResponse) -> [String] {
        [String(response.status)] + response.headers.filter { $0.0.lowercased() != "date" }.map { "\($0.0): \($0.1)" }
    }
}
