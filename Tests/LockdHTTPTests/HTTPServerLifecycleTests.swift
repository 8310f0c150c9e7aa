import LockdTestSupport
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
            #expect(await eventually { server.server.openConnectionCount == 0 })
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
            #expect(await eventually { server.server.openConnectionCount == 0 })
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
        #expect(await eventually { server.server.isDraining })
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
}
