import LockdTestSupport
import LockdTransport
import Logging
import Synchronization
import Testing

@testable import LockdHTTP

/// `ServerSentEventStream` over a real server, fed by a synthetic producer:
/// order, slow readers cut off alone, keep-alives, shutdown.
@Suite struct ServerSentEventTests {
    @Test func eventsAreWrittenAsTheSpecSays() {
        let event = ServerSentEvent(id: "7", event: "acquired", data: "a\nb\r\nc\rd")
        #expect(String(decoding: event.encoded, as: UTF8.self) == "id: 7\nevent: acquired\ndata: a\ndata: b\ndata: c\ndata: d\n\n")
        #expect(String(decoding: ServerSentEvent(data: "").encoded, as: UTF8.self) == "data: \n\n")
        #expect(String(decoding: ServerSentEvent(id: "1\n2\0", data: "x").encoded, as: UTF8.self) == "id: 1 2\ndata: x\n\n")
        #expect(String(decoding: ServerSentEvent.comment("keep\r\nalive"), as: UTF8.self) == ": keep alive\n")
    }

    @Test func aProducerPastTheBacklogEndsTheStreamWithoutQueueingMore() {
        let book = StreamBook()
        let stream = ServerSentEventStream(configuration: .init(backlog: 4)) { book.ended.add(1, ordering: .relaxed) }
        // Never served: nothing drains the backlog.
        for index in 0..<4 { #expect(stream.send(ServerSentEvent(data: "\(index)")) == .queued) }
        #expect(stream.send(ServerSentEvent(data: "4")) == .ended)
        #expect(stream.send(ServerSentEvent(data: "5")) == .ended)
        #expect(book.ended.load(ordering: .relaxed) == 1)
    }

    @Test func eventsArriveInOrder() async throws {
        try await EventServer.with { server in
            let client = try server.client()
            try client.send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
            let head = String(decoding: try await client.read(until: "\r\n\r\n"), as: UTF8.self)
            #expect(head.hasPrefix("HTTP/1.1 200 OK\r\n"))
            #expect(head.contains("Content-Type: text/event-stream\r\n"))
            #expect(head.contains("Cache-Control: no-cache\r\n"))
            let stream = try await server.stream(0)
            for index in 0..<200 {
                #expect(stream.send(ServerSentEvent(id: "\(index)", event: "tick", data: "{\"n\":\(index)}")) == .queued)
            }
            let text = String(decoding: try await client.read(until: "id: 199\n"), as: UTF8.self)
            // By scalars: the chunk framing's CR LF is one Character.
            let ids = text.unicodeScalars.split(separator: "\n").map(String.init).filter { $0.hasPrefix("id: ") }.map { String($0.dropFirst(4)) }
            #expect(ids == (0..<200).map(String.init))
            #expect(text.contains("id: 5\nevent: tick\ndata: {\"n\":5}\n\n"))
        }
    }

    @Test func aReaderThatStopsIsCutOffWhileAnotherKeepsReceiving() async throws {
        var configuration = HTTPServerConfiguration()
        configuration.maxStreamBacklog = 32 << 10
        configuration.writeTimeout = .seconds(30)
        try await EventServer.with(configuration) { server in
            let slow = try server.client()
            try slow.send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
            let slowStream = try await server.stream(0)
            let fast = try server.client()
            try fast.send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
            let fastStream = try await server.stream(1)
            let padding = String(repeating: "x", count: 4 << 10)
            var slowEnded = false
            var sent = 0
            // Bounded: 4 KB events until the kernel's buffers and the 32 KB
            // backlog of the reader that reads nothing are full (a few MB).
            while !slowEnded, sent < 20_000 {
                for _ in 0..<50 {
                    let event = ServerSentEvent(id: "\(sent)", data: padding)
                    #expect(fastStream.send(event) == .queued)
                    slowEnded = slowEnded || slowStream.send(event) == .ended
                    sent += 1
                }
                _ = try await fast.read(until: "id: \(sent - 1)\n", timeout: .seconds(20))
            }
            #expect(slowEnded, "the reader that reads nothing was not cut off after \(sent) events")
            #expect(slowStream.send(ServerSentEvent(data: "more")) == .ended)
            let endedAgain = await eventually { server.book.ended.load(ordering: .relaxed) == 1 }
            #expect(endedAgain)

            // The reader that stopped finds the last word, then the close.
            let tail = String(decoding: try await slow.readUntilClosed(timeout: .seconds(20)).suffix(400), as: UTF8.self)
            #expect(tail.contains(": " + ServerSentEventStream.tooSlow + "\n"), "\(tail)")
            // The other reader is served on.
            #expect(fastStream.send(ServerSentEvent(id: "after", data: "still here")) == .queued)
            _ = try await fast.read(until: "id: after\ndata: still here\n\n")
            let connected = await eventually { server.server.openConnectionCount == 1 }
            #expect(connected)
        }
    }

    @Test func aProducerFasterThanTheConnectionEndsTheStreamAndItsConnection() async throws {
        try await EventServer.with(backlog: 1) { server in
            let client = try server.client()
            try client.send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
            let stream = try await server.stream(0)
            // One event may wait; a burst from this thread outruns the loop.
            var sent = 0
            while stream.send(ServerSentEvent(id: "\(sent)", data: "burst")) == .queued, sent < 1_000_000 { sent += 1 }
            #expect(sent < 1_000_000, "a backlog of one event never overflowed")
            let all = String(decoding: try await client.readUntilClosed(), as: UTF8.self)
            #expect(all.contains(": " + ServerSentEventStream.tooSlow + "\n"), "\(all.suffix(300))")
            #expect(all.hasSuffix("0\r\n\r\n"), "the body did not end cleanly: \(all.suffix(100))")
            let endedAgain = await eventually { server.book.ended.load(ordering: .relaxed) == 1 }
            #expect(endedAgain)
        }
    }

    @Test func aStreamNeverSentEnds() async throws {
        try await EventServer.with { server in
            let client = try server.client()
            try client.send("HEAD /events HTTP/1.1\r\nHost: x\r\n\r\n")
            let head = try await client.readResponse(headOnly: true)
            #expect(head.header("Content-Type") == "text/event-stream")
            let endedAgain = await eventually { server.book.ended.load(ordering: .relaxed) == 1 }
            #expect(endedAgain)
            #expect(server.stream(at: 0)?.send(ServerSentEvent(data: "nobody")) == .ended)
        }
    }

    @Test func aKeepAliveCommentArrivesOnEveryIdleStream() async throws {
        try await EventServer.with(keepAlive: ServerSentEventKeepAlive(interval: .milliseconds(50))) { server in
            let clients = try (0..<2).map { _ in try server.client() }
            for client in clients { try client.send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n") }
            for client in clients {
                _ = try await client.read(until: ": keep-alive\n")
                _ = try await client.read(until: ": keep-alive\n")
            }
        }
    }

    @Test func shutdownEndsOpenStreams() async throws {
        let server = try EventServer()
        let clients = try (0..<2).map { _ in try server.client() }
        for (index, client) in clients.enumerated() {
            try client.send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
            _ = try await server.stream(index).send(ServerSentEvent(id: "\(index)", data: "hello"))
            _ = try await client.read(until: "data: hello\n\n")
        }
        let started = ContinuousClock.now
        await server.server.shutdown(gracePeriod: .seconds(10))
        #expect(ContinuousClock.now - started < .seconds(5), "shutdown waited for the streams' grace period")
        for client in clients {
            #expect(String(decoding: try await client.readUntilClosed(), as: UTF8.self).hasSuffix("0\r\n\r\n"))
        }
        let bothEnded = await eventually { server.book.ended.load(ordering: .relaxed) == 2 }
        #expect(bothEnded)
        #expect(server.stream(at: 0)?.send(ServerSentEvent(data: "late")) == .ended)
        server.group.shutdown()
    }
}

/// A server whose `GET /events` opens a ``ServerSentEventStream`` the test
/// feeds by hand.
final class EventServer: Sendable {
    let group: EventLoopGroup
    let server: HTTPServer
    let port: UInt16
    /// The streams opened, and how many ended.
    let book = StreamBook()

    init(_ configuration: HTTPServerConfiguration = HTTPServerConfiguration(), keepAlive: ServerSentEventKeepAlive = .standard,
         backlog: Int = 256) throws {
        let book = self.book
        group = try EventLoopGroup(loopCount: 2, namePrefix: "sse-loop")
        var configuration = configuration
        configuration.listenAddress = "127.0.0.1:0"
        var router = Router()
        router.add(.get, "/events") { _, _ in
            let stream = ServerSentEventStream(configuration: .init(backlog: backlog, keepAlive: keepAlive)) {
                book.ended.add(1, ordering: .relaxed)
            }
            book.streams.withLock { $0.append(stream) }
            return stream.response()
        }
        server = HTTPServer(configuration: configuration, responder: router, eventLoopGroup: group, logger: Logger(label: "test"))
        port = try server.start()[0].port
    }

    func client() throws -> RawHTTPClient { try RawHTTPClient(port: port) }

    func stream(at index: Int) -> ServerSentEventStream? {
        book.streams.withLock { index < $0.count ? $0[index] : nil }
    }

    /// The `index`th stream, once its request has arrived.
    func stream(_ index: Int) async throws -> ServerSentEventStream {
        guard await eventually(within: .seconds(10), { self.stream(at: index) != nil }), let stream = stream(at: index) else {
            throw TestFailure("stream \(index) never opened")
        }
        return stream
    }

    /// Runs `body` with a fresh server and always stops it.
    static func with(
        _ configuration: HTTPServerConfiguration = HTTPServerConfiguration(), keepAlive: ServerSentEventKeepAlive = .standard,
        backlog: Int = 256, _ body: (EventServer) async throws -> Void
    ) async throws {
        let server = try EventServer(configuration, keepAlive: keepAlive, backlog: backlog)
        do {
            try await body(server)
        } catch {
            await server.server.shutdown(gracePeriod: .seconds(1))
            server.group.shutdown()
            throw error
        }
        await server.server.shutdown(gracePeriod: .seconds(1))
        server.group.shutdown()
    }
}

/// The streams an ``EventServer`` opened, in the order their requests
/// arrived, and how many have ended.
final class StreamBook: Sendable {
    let streams = Mutex<[ServerSentEventStream]>([])
    let ended = Atomic<Int>(0)
}
