import LockdTestSupport
import LockdTransport
import Logging
import Testing

@testable import LockdHTTP

/// The metadata bound while an answer is
/// made in place is made from the connection's exchange when read; a
/// keep-alive connection's second request, sent without `traceparent`,
/// must not see the first request's.
@Suite struct KeepAliveTraceParentTests {
    @Test func aKeepAliveRequestSeesOnlyItsOwnTraceparent() async throws {
        var router = Router()
        router.add(.get, "/now", name: "now") { _, _ in
            let current = HTTPRequestLogMetadata.current
            return .now(HTTPResponse(status: .ok, body: Array("\(current?.requestID.description ?? "none") \(current?.traceParent ?? "none")".utf8)))
        }
        let group = try EventLoopGroup(loopCount: 1, namePrefix: "keepalive-trace")
        let server = HTTPServer(configuration: HTTPServerConfiguration(listenAddress: "127.0.0.1:0"), responder: router,
                                eventLoopGroup: group, logger: Logger(label: "keepalive-trace"))
        let port = try server.start()[0].port
        let trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        do {
            let client = try await offThePool { try RawHTTPClient(port: port) }
            defer { client.close() }
            try client.send("GET /now HTTP/1.1\r\nHost: x\r\nX-Request-Id: r12-a\r\ntraceparent: \(trace)\r\n\r\n")
            #expect(try await client.readResponse().text == "r12-a \(trace)")
            try client.send("GET /now HTTP/1.1\r\nHost: x\r\nX-Request-Id: r12-b\r\n\r\n")
            #expect(try await client.readResponse().text == "r12-b none")
            // Pipelined: both read in one go, the second without.
            try client.send("GET /now HTTP/1.1\r\nHost: x\r\nX-Request-Id: r12-c\r\ntraceparent: \(trace)\r\n\r\n"
                + "GET /now HTTP/1.1\r\nHost: x\r\nX-Request-Id: r12-d\r\n\r\n")
            #expect(try await client.readResponse().text == "r12-c \(trace)")
            #expect(try await client.readResponse().text == "r12-d none")
        }
        await server.shutdown(gracePeriod: .seconds(1))
        group.shutdown()
    }
}
