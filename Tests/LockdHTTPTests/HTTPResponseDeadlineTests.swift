import LockdTestSupport
import LockdTransport
import Logging
import Synchronization
import Testing

@testable import LockdHTTP

/// A response with a deadline (``HTTPResponse/deadline``) is written as it
/// is until then; reached any later, it is dropped — its `onDropped`
/// called — and a 503 written in its place, under its route, on a
/// connection that goes on serving. The deadlines here are fixed relative
/// to the server's own clock reading as it writes: one already reached when
/// the response is made, one a minute ahead.
@Suite struct HTTPResponseDeadlineTests {
    @Test func aResponsePastItsDeadlineIsDroppedAndItsStandInWritten() async throws {
        try await Self.withServer { port, dropped, observer in
            let client = try RawHTTPClient(port: port)
            defer { client.close() }
            for way in ["now", "later", "promised"] {
                try client.send("GET /passed/\(way) HTTP/1.1\r\nHost: x\r\n\r\n")
                let response = try await client.readResponse()
                #expect(response.status == 503, "\(way)")
                #expect(response.text.contains(#""type":"unavailable""#), "\(way): \(response.text)")
                #expect(response.header("Retry-After") == "1", "\(way)")
            }
            #expect(dropped.count.load(ordering: .relaxed) == 3, "each late response's onDropped is called once")
            // The connection serves on, and one in time goes as it is.
            try client.send("GET /ahead HTTP/1.1\r\nHost: x\r\n\r\n")
            let inTime = try await client.readResponse()
            #expect(inTime.status == 201)
            #expect(inTime.text == "made in time")
            #expect(dropped.count.load(ordering: .relaxed) == 3, "a response written in time is not dropped")
            #expect(observer.statuses.withLock { $0 } == ["passed-now": 503, "passed-later": 503, "passed-promised": 503, "ahead": 201])
        }
    }

    /// A server whose routes answer with deadlines, counting the responses dropped and reporting each route's status.
    private static func withServer(
        _ body: (UInt16, DroppedCount, RouteStatuses) async throws -> Void
    ) async throws {
        let observer = RouteStatuses()
        let dropped = DroppedCount()
        var router = Router()
        @Sendable func made(_ instant: UInt64) -> HTTPResponse {
            var response = HTTPResponse(status: .created, body: Array("made in time".utf8))
            response.deadline = instant
            response.onDropped = { dropped.count.add(1, ordering: .relaxed) }
            return response
        }
        // Already reached: the server's reading as it writes is no earlier.
        router.add(.get, "/passed/now", name: "passed-now") { _, _ in .now(made(MonotonicClock.now())) }
        router.add(.get, "/passed/later", name: "passed-later") { _, _ in made(MonotonicClock.now()) }
        router.add(.get, "/passed/promised", name: "passed-promised") { _, _ in
            .promised { _, _, promise in promise.succeed(made(MonotonicClock.now())) }
        }
        router.add(.get, "/ahead", name: "ahead") { _, _ in .now(made(MonotonicClock.now() + 60_000_000_000)) }
        let loops = try EventLoopGroup(loopCount: 1, namePrefix: "deadline-test")
        let server = HTTPServer(configuration: HTTPServerConfiguration(listenAddress: "127.0.0.1:0"), responder: router,
                                eventLoopGroup: loops, logger: Logger(label: "deadline-test"), observer: observer)
        try await server.serving(on: loops) { port in try await body(port, dropped, observer) }
    }
}

private final class DroppedCount: Sendable {
    let count = Atomic<Int>(0)
}

/// The status the server reported for each route.
private final class RouteStatuses: HTTPExchangeObserver {
    let statuses = Mutex<[String: Int]>([:])

    func answered(_ exchange: inout HTTPExchange) {
        statuses.withLock { $0[exchange.route ?? "?"] = Int(exchange.status.code) }
    }
}
