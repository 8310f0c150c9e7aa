import LockdTestSupport
import Testing

@testable import LockdHTTP

/// Response bodies streamed after the head (`HTTPResponseBodyStream`):
/// pieces leave as they are written, slow readers are cut off at the
/// backlog bound, and a disconnect or a shutdown ends the producer.
@Suite struct HTTPStreamingTests {
    @Test func piecesLeaveAsTheyAreWrittenChunkedAndTheConnectionIsKept() async throws {
        try await TestServer.with { server in
            let client = try server.client()
            try client.send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
            // The first piece arrives while the producer still waits.
            let start = String(decoding: try await client.read(until: "first\n"), as: UTF8.self)
            #expect(start.hasPrefix("HTTP/1.1 200 OK\r\n"))
            #expect(start.contains("Transfer-Encoding: chunked\r\n"))
            #expect(!start.contains("Content-Length"))
            #expect(start.contains("\r\nX-Request-Id: "))
            server.gate.open()
            let rest = String(decoding: try await client.read(until: "0\r\n\r\n"), as: UTF8.self)
            #expect(rest == "\r\n7\r\nsecond\n\r\n0\r\n\r\n")
            try client.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try await client.readResponse().text == "ok")
        }
    }

    @Test func http10ClientsGetTheBodyEndedByTheClose() async throws {
        try await TestServer.with { server in
            server.gate.open()
            let client = try server.client()
            try client.send("GET /stream HTTP/1.0\r\n\r\n")
            let all = String(decoding: try await client.readUntilClosed(), as: UTF8.self)
            #expect(all.contains("Connection: close\r\n"))
            #expect(!all.contains("chunked"))
            #expect(all.hasSuffix("\r\n\r\nfirst\nsecond\n"))
        }
    }

    @Test func aReaderPastTheBacklogIsCutOffAfterOneLastPiece() async throws {
        var configuration = HTTPServerConfiguration()
        configuration.maxStreamBacklog = 64 << 10
        configuration.writeTimeout = .milliseconds(300)
        try await TestServer.with(configuration) { server in
            let client = try server.client()
            try client.send("GET /flood HTTP/1.1\r\nHost: x\r\n\r\n")
            // The client reads nothing: the producer is told, may add a last piece, and no more.
            #expect(await server.nextEvent() == "flood: backlogFull, last backlogFull, after closed")
            let closed = await eventually { server.server.openConnectionCount == 0 }
            #expect(closed)
            withExtendedLifetime(client) {}
        }
    }

    @Test func aDisconnectCancelsTheProducer() async throws {
        try await TestServer.with { server in
            let client = try server.client()
            try client.send("GET /endless HTTP/1.1\r\nHost: x\r\n\r\n")
            _ = try await client.read(until: "tick\n")
            client.close()
            #expect(await server.nextEvent() == "ended: cancelled")
            let closed = await eventually { server.server.openConnectionCount == 0 }
            #expect(closed)
        }
    }

    @Test func shutdownEndsStreamsTerminatingTheirBodies() async throws {
        let server = try TestServer()
        let client = try server.client()
        try client.send("GET /endless HTTP/1.1\r\nHost: x\r\n\r\n")
        _ = try await client.read(until: "tick\n")
        let started = ContinuousClock.now
        await server.server.shutdown(gracePeriod: .seconds(10))
        #expect(ContinuousClock.now - started < .seconds(5), "shutdown waited for the stream's grace period")
        #expect(await server.nextEvent() == "ended: cancelled")
        #expect(String(decoding: try await client.readUntilClosed(), as: UTF8.self).hasSuffix("0\r\n\r\n"))
        server.group.shutdown()
    }

    @Test func aPushedBodyIsWrittenFromTheLoopAndHearsTheDisconnect() async throws {
        try await TestServer.with { server in
            let client = try server.client()
            try client.send("GET /pushed HTTP/1.1\r\nHost: x\r\n\r\n")
            let start = String(decoding: try await client.read(until: "pushed\n"), as: UTF8.self)
            #expect(start.contains("Transfer-Encoding: chunked\r\n"))
            #expect(await server.nextEvent() == "pushed: written")
            client.close()
            #expect(await server.nextEvent() == "pushed: ended")
            let closed = await eventually { server.server.openConnectionCount == 0 }
            #expect(closed)
        }
    }

    @Test func shutdownEndsAPushedBodyWithItsLastChunk() async throws {
        let server = try TestServer()
        let client = try server.client()
        try client.send("GET /pushed HTTP/1.1\r\nHost: x\r\n\r\n")
        _ = try await client.read(until: "pushed\n")
        #expect(await server.nextEvent() == "pushed: written")
        await server.server.shutdown(gracePeriod: .seconds(10))
        #expect(await server.nextEvent() == "pushed: ended")
        #expect(String(decoding: try await client.readUntilClosed(), as: UTF8.self).hasSuffix("0\r\n\r\n"))
        server.group.shutdown()
    }
}
