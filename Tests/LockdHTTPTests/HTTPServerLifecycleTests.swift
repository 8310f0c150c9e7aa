import LockdTestSupport
import LockdTransport
import Testing

@testable import LockdHTTP

/// Cancellation on disconnect and graceful shutdown.
@Suite struct HTTPServerLifecycleTests {
    @Test(arguments: [false, true])
    func aDisconnectCancelsTheRunningHandlerAtOnce(halfClose: Bool) async throws {
        try await TestServer.with { server in
            let client = try server.client()
            try client.send("GET /wait HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(await server.nextEvent() == "started")
            let closedAt = ContinuousClock.now
            if halfClose { client.shutdownWrite() } else { client.close() }
            #expect(await server.nextEvent() == "cancelled")
            let delay = ContinuousClock.now - closedAt
            // Loose for a loaded CI machine; the server reacts in the same epoll round.
            #expect(delay < .seconds(2), "cancellation took \(delay)")
            let closed = await eventually { server.server.openConnectionCount == 0 }
            #expect(closed)
        }
    }

    @Test func aDisconnectCancelsAPromisedAnswerAtOnce() async throws {
        try await TestServer.with { server in
            let client = try server.client()
            try client.send("GET /promised HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(await server.nextEvent() == "started")
            client.close()
            #expect(await server.nextEvent() == "cancelled")
            // Kept after all: dropped.
            server.gate.open()
            let closed = await eventually { server.server.openConnectionCount == 0 }
            #expect(closed)
        }
    }

    @Test func aPromiseKeptLaterIsSentAndTheConnectionServesOn() async throws {
        try await TestServer.with { server in
            let client = try server.client()
            defer { client.close() }
            try client.send("GET /promised HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(await server.nextEvent() == "started")
            server.gate.open()
            let kept = try await client.readResponse()
            #expect(kept.status == 200)
            #expect(kept.text == "kept")
            try client.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try await client.readResponse().status == 200)
        }
    }

    @Test func shutdownLetsInFlightRequestsFinishAndClosesIdleOnes() async throws {
        let server = try TestServer()
        let idle = try server.client()
        try idle.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try await idle.readResponse().status == 200)
        let busy = try server.client()
        try busy.send("GET /gate HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(await server.nextEvent() == "started")

        async let stopped: Void = server.server.shutdown(gracePeriod: .seconds(5))
        let draining = await eventually { server.server.isDraining }
        #expect(draining)
        #expect(await idle.closedByServer(within: .seconds(2)))
        server.gate.open()
        let response = try await busy.readResponse(timeout: .seconds(3))
        #expect(response.status == 200)
        #expect(response.text == "through")
        #expect(response.header("Connection") == "close")
        _ = await stopped
        #expect(throws: RawHTTPClientError.self) { _ = try server.client() }
        server.group.shutdown()
    }

    @Test func shutdownCancelsWhatOutlivesTheGracePeriod() async throws {
        let server = try TestServer()
        let client = try server.client()
        try client.send("GET /wait HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(await server.nextEvent() == "started")
        let start = ContinuousClock.now
        await server.server.shutdown(gracePeriod: .milliseconds(200))
        #expect(ContinuousClock.now - start < .seconds(3))
        #expect(await server.nextEvent() == "cancelled")
        #expect(await client.closedByServer())
        server.group.shutdown()
    }

    /// A connection the listener counted just before shutdown began and handed
    /// to another loop, adopted there only after that loop's drain sweep ran,
    /// is drained too: shutdown ends at once instead of after the grace period
    /// (an hour here) — over TLS also when the client never sends its hello.
    @Test(arguments: [false, true])
    func aConnectionAdoptedAfterItsLoopsDrainSweepIsClosedAtOnce(tls: Bool) async throws {
        let configuration = tls
            ? try HTTPServerTLSTests.configuration(handshakeTimeout: .seconds(3600))
            : HTTPServerConfiguration(listenAddress: "127.0.0.1:0")
        let server = try TestServer(configuration: configuration, loops: 2)
        // Accepted on a socket of the test's own, so the test says when it is adopted.
        let side = try Socket.listen(on: SocketAddress(parsing: "127.0.0.1:0"))
        defer { side.close() }
        let late = try RawHTTPClient(port: try side.localAddress().port)
        var accepted: Socket?
        let arrived = try await eventually {
            accepted = try side.accept()
            return accepted != nil
        }
        #expect(arrived)
        let socket = try #require(accepted)
        #expect(server.server.connectionOpened(), "counted before shutdown began, as the listener counts it")
        // One idle connection a loop (they are dealt in turn): each one's close shows its loop's sweep ran.
        let swept = [try server.client(), try server.client()]
        let connected = await eventually { server.server.openConnectionCount == 3 }
        #expect(connected)

        let stopped = Task { await server.server.shutdown(gracePeriod: .seconds(3600)) }
        for client in swept { #expect(await client.closedByServer()) }
        let target = server.server.contexts[1]
        target.loop.execute { [server] in HTTPListener.adopt(socket, server: server.server, context: target) }
        #expect(await late.closedByServer())
        let closed = await eventually { server.server.openConnectionCount == 0 }
        #expect(closed)
        // Without the fix, the client's hang-up is what lets shutdown end.
        late.close()
        await stopped.value
        server.group.shutdown()
    }
}
