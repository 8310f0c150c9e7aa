import LockdTestSupport
import LockdTransport
import Logging
import Testing

@testable import LockdHTTP

/// Ordinary requests over real sockets on port 0.
@Suite struct HTTPServerTests {
    @Test func servesKeepAliveRequestsWithDateAndContentLength() async throws {
        try await TestServer.with { server in
            let client = try server.client()
            for _ in 0..<3 {
                try client.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                let response = try await client.readResponse()
                #expect(response.status == 200)
                #expect(response.text == "ok")
                #expect(response.header("Content-Length") == "2")
                #expect(response.header("Date")?.hasSuffix(" GMT") == true)
                #expect(response.header("Connection") == nil)
            }
        }
    }

    /// A task's or a promise's answer may always be dropped (the client can
    /// go before it); one given at once, as the request is read, when the
    /// client's FIN came with the request (a grant made there then needs
    /// its `onDropped`).
    @Test func anAnswerMayBeDroppedUnlessGivenInPlaceWithNoHangUpUnseen() async throws {
        try await TestServer.with { server in
            let client = try server.client()
            for path in ["later", "promised"] {
                try client.send("GET /droppable/\(path) HTTP/1.1\r\nHost: x\r\n\r\n")
                #expect(try await client.readResponse().text == "true", "\(path)")
            }
            let halfClosing = try server.client()
            try halfClosing.holdSendsUntilShutdown()
            try halfClosing.send("GET /droppable/now HTTP/1.1\r\nHost: x\r\n\r\n")
            halfClosing.shutdownWrite()
            #expect(try await halfClosing.readResponse().text == "true")
        }
    }

    @Test func handlersRunOnTheConnectionsLoop() async throws {
        try await TestServer.with { server in
            let client = try server.client()
            try client.send("GET /loop HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try await client.readResponse().text == "true")
        }
    }

    @Test func pipelinedResponsesComeBackInOrder() async throws {
        try await TestServer.with { server in
            let client = try server.client()
            try client.send(
                "GET /slow?50 HTTP/1.1\r\nHost: x\r\n\r\nGET /items/second HTTP/1.1\r\nHost: x\r\n\r\n"
                    + "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nthirdGET /items/fourth HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try await client.readResponse().text == "slow")
            #expect(try await client.readResponse().text == "second")
            #expect(try await client.readResponse().text == "third")
            #expect(try await client.readResponse().text == "fourth")
        }
    }

    @Test func headKeepsTheLengthAndSendsNoBody() async throws {
        try await TestServer.with { server in
            let client = try server.client()
            try client.send("HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /items/after HTTP/1.1\r\nHost: x\r\n\r\n")
            let head = try await client.readResponse(headOnly: true)
            #expect(head.status == 200)
            #expect(head.header("Content-Length") == "2")
            // Had a body been sent, it would be read as the start of this response.
            #expect(try await client.readResponse().text == "after")
        }
    }

    @Test func noContentHasNoLengthOrBody() async throws {
        try await TestServer.with { server in
            let client = try server.client()
            try client.send("DELETE /items/a HTTP/1.1\r\nHost: x\r\n\r\nGET /items/b HTTP/1.1\r\nHost: x\r\n\r\n")
            let response = try await client.readResponse()
            #expect(response.status == 204)
            #expect(response.header("Content-Length") == nil)
            #expect(try await client.readResponse().text == "b")
        }
    }

    @Test func expectContinueGetsA100BeforeTheBodyIsSent() async throws {
        try await TestServer.with { server in
            let client = try server.client()
            try client.send("POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
            #expect(try await client.readResponse().status == 100)
            try client.send("body")
            let response = try await client.readResponse()
            #expect(response.status == 200)
            #expect(response.text == "body")
        }
    }

    @Test func chunkedBodiesAreReassembled() async throws {
        try await TestServer.with { server in
            let client = try server.client()
            try client.send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n")
            try await Task.sleep(for: .milliseconds(20))
            try client.send("4;x=y\r\ndefg\r\n0\r\nT: 1\r\n\r\n")
            #expect(try await client.readResponse().text == "abcdefg")
        }
    }

    @Test func http10ClosesUnlessAskedToKeepAlive() async throws {
        try await TestServer.with { server in
            let plain = try server.client()
            try plain.send("GET /healthz HTTP/1.0\r\n\r\n")
            let first = try await plain.readResponse()
            #expect(first.header("Connection") == "close")
            #expect(await plain.closedByServer())

            let kept = try server.client()
            try kept.send("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            #expect(try await kept.readResponse().header("Connection") == "keep-alive")
            try kept.send("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            #expect(try await kept.readResponse().status == 200)
        }
    }

    @Test func connectionCloseIsHonoured() async throws {
        try await TestServer.with { server in
            let client = try server.client()
            try client.send("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try await client.readResponse().header("Connection") == "close")
            #expect(try await client.readUntilClosed().isEmpty)
        }
    }

    @Test func unknownPathsAndMethodsAreProblems() async throws {
        try await TestServer.with { server in
            let client = try server.client()
            try client.send("GET /nope HTTP/1.1\r\nHost: x\r\n\r\n")
            let notFound = try await client.readResponse()
            #expect(notFound.status == 404)
            #expect(notFound.header("Content-Type") == "application/problem+json")
            #expect(notFound.text.contains(#""type":"not-found""#))

            try client.send("PUT /items/a HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
            let notAllowed = try await client.readResponse()
            #expect(notAllowed.status == 405)
            #expect(notAllowed.header("Allow") == "GET, DELETE, HEAD")
            #expect(notAllowed.text.contains(#""type":"method-not-allowed""#))

            try client.send("GET /items/%zz HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try await client.readResponse().status == 400)
        }
    }

    @Test func aSecondServerOnTheSamePortFailsToStart() async throws {
        try await TestServer.with { server in
            let group = try EventLoopGroup(loopCount: 1)
            defer { group.shutdown() }
            let second = HTTPServer(
                configuration: HTTPServerConfiguration(listenAddress: "127.0.0.1:\(server.port)"),
                responder: Router(), eventLoopGroup: group, logger: Logger(label: "test"))
            #expect(throws: TransportError.self) { try second.start() }
        }
    }

    @Test func servesOverIPv6() async throws {
        try await TestServer.with(HTTPServerConfiguration(listenAddress: "[::1]:0")) { server in
            let client = try RawHTTPClient(host: "::1", port: server.port)
            try client.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try await client.readResponse().status == 200)
        }
    }

    @Test func aThousandKeepAliveConnectionsAreServedAtOnce() async throws {
        try await TestServer.with { server in
            let clients = try (0..<1000).map { _ in try server.client() }
            for round in 0..<2 {
                for (index, client) in clients.enumerated() {
                    try client.send("GET /items/\(index)-\(round) HTTP/1.1\r\nHost: x\r\n\r\n")
                }
                for (index, client) in clients.enumerated() {
                    #expect(try await client.readResponse().text == "\(index)-\(round)")
                }
            }
            #expect(server.server.openConnectionCount == 1000)
        }
    }
}
