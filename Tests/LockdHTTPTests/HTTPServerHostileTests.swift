import LockdTestSupport
import Testing

@testable import LockdHTTP

/// Hostile clients over real sockets: each gets one answer, then the
/// connection closes and nothing pipelined behind the bad request runs.
@Suite struct HTTPServerHostileTests {
    static let cases: [(String, Int)] = [
        ("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
        ("GET /healthz HTTP/1.1\nHost: x\r\n\r\n", 400),
        ("GET /healthz HTTP/1.1\r\nHost: x\r\nX: a\r\n folded\r\n\r\n", 400),
        ("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
        ("GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n", 505),
        ("GET /healthz HTTP/1.1\r\n\r\n", 400),
        ("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 70000\r\n\r\n", 413),
        ("GET /" + String(repeating: "a", count: 9000) + " HTTP/1.1\r\nHost: x\r\n\r\n", 414),
        ("GET /healthz HTTP/1.1\r\nHost: x\r\n" + (0..<101).map { "F\($0): v\r\n" }.joined() + "\r\n", 431),
        ("GET /healthz HTTP/1.1\r\nHost: x\r\nBig: " + String(repeating: "b", count: 33 * 1024) + "\r\n\r\n", 431),
    ]

    @Test(arguments: cases)
    func answersOnceAndCloses(_ request: String, _ status: Int) async throws {
        try await TestServer.with { server in
            let client = try server.client()
            try client.send(request + "GET /items/tail HTTP/1.1\r\nHost: x\r\n\r\n")
            let response = try await client.readResponse()
            #expect(response.status == status)
            #expect(response.header("Content-Type") == "application/problem+json")
            #expect(response.header("Connection") == "close")
            let rest = try await client.readUntilClosed()
            #expect(rest.isEmpty, "the pipelined tail was answered: \(String(decoding: rest, as: UTF8.self))")
        }
    }

    @Test func chunkedBodiesPastTheLimitAre413WhileReading() async throws {
        try await TestServer.with { server in
            let client = try server.client()
            try client.send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
            let chunk = "8000\r\n" + String(repeating: "c", count: 0x8000) + "\r\n"
            try client.send(chunk + chunk)
            try client.send("1\r\n")
            let response = try await client.readResponse()
            #expect(response.status == 413)
            #expect(response.text.contains("payload-too-large"))
            #expect(await client.closedByServer())
        }
    }

    @Test func aTLSClientHelloGets400AndClose() async throws {
        try await TestServer.with { server in
            let client = try server.client()
            try client.send([0x16, 0x03, 0x01, 0x00, 0xA5, 0x01, 0x00, 0x00, 0xA1, 0x03, 0x03] + [UInt8](repeating: 0x42, count: 160))
            #expect(try await client.readResponse().status == 400)
            #expect(await client.closedByServer())
        }
    }

    @Test func slowHeadsGet408() async throws {
        var configuration = HTTPServerConfiguration()
        // Long enough that the trickle below is sent before it passes, even on a loaded machine.
        configuration.headTimeout = .milliseconds(1_500)
        try await TestServer.with(configuration) { server in
            let client = try server.client()
            try client.send("GET /healthz HTTP/1.1\r\nHo")
            for _ in 0..<3 {
                try await Task.sleep(for: .milliseconds(50))
                // Trickling bytes does not extend the deadline. On a loaded machine
                // the server may already have answered 408 and closed: that is fine.
                try? client.send("s")
            }
            let response = try await client.readResponse(timeout: .seconds(3))
            #expect(response.status == 408)
            #expect(response.text.contains(#""type":"timeout""#))
            #expect(await client.closedByServer())
        }
    }

    @Test func slowBodiesGet408() async throws {
        var configuration = HTTPServerConfiguration()
        configuration.bodyTimeout = .milliseconds(300)
        try await TestServer.with(configuration) { server in
            let client = try server.client()
            try client.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
            #expect(try await client.readResponse(timeout: .seconds(3)).status == 408)
        }
    }

    @Test func idleKeepAliveConnectionsAreClosed() async throws {
        var configuration = HTTPServerConfiguration()
        configuration.idleTimeout = .milliseconds(200)
        try await TestServer.with(configuration) { server in
            let client = try server.client()
            // Measured from before the request: the idle clock starts after the
            // response, which this test may read late on a loaded machine.
            let start = ContinuousClock.now
            try client.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try await client.readResponse().status == 200)
            #expect(try await client.readUntilClosed(timeout: .seconds(3)).isEmpty)
            #expect(ContinuousClock.now - start >= .milliseconds(190))
        }
    }

    @Test func clientsThatStopReadingAreDisconnected() async throws {
        var configuration = HTTPServerConfiguration()
        configuration.writeTimeout = .milliseconds(300)
        try await TestServer.with(configuration) { server in
            let client = try server.client()
            try client.send("GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
            // The client never reads the 16 MiB; the server gives up on it.
            let closed = await eventually { server.server.openConnectionCount == 0 }
            #expect(closed)
            withExtendedLifetime(client) {}
        }
    }

    @Test func connectionsPastTheCapGet503() async throws {
        var configuration = HTTPServerConfiguration()
        configuration.maxConnections = 2
        try await TestServer.with(configuration) { server in
            let held = try (0..<2).map { _ in try server.client() }
            for client in held {
                try client.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                #expect(try await client.readResponse().status == 200)
            }
            let turnedAway = try server.client()
            let response = try await turnedAway.readResponse()
            #expect(response.status == 503)
            #expect(response.text.contains(#""type":"unavailable""#))
            #expect(await turnedAway.closedByServer())
            // Held connections still work, and a freed slot is usable again.
            held[0].close()
            let connected = await eventually { server.server.openConnectionCount == 1 }
            #expect(connected)
            let next = try server.client()
            try next.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try await next.readResponse().status == 200)
        }
    }
}
