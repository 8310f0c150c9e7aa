import LockdTestSupport
import LockdTransport
import Logging
import Synchronization
import Testing

@testable import LockdHTTP

/// review5 (wip-cpu22): the request's log metadata is bound for the loop's
/// thread while an answer is made in place, and as a task local only in the
/// tasks a promise's call starts. Each request's code sees its own id — in a
/// task started for its call, in a promise kept at once, kept from another
/// connection's answer, through a filtered promise — and no binding outlives
/// the code it was made for.
@Suite struct Review5LogMetadataTests {
    /// The id a task started for the call sees, then the one making the response sees.
    @Test func aTaskStartedForAPromisesCallAndTheResponseItMakesCarryTheRequestsId() async throws {
        try await Self.withServer { port, _, _ in
            let client = try await offThePool { try RawHTTPClient(port: port) }
            defer { client.close() }
            for path in ["promised-task", "filtered-task"] {
                try client.send("GET /\(path) HTTP/1.1\r\nHost: x\r\nX-Request-Id: r5-\(path)\r\n\r\n")
                let response = try await client.readResponse()
                #expect(response.status == 200)
                #expect(response.text == "r5-\(path) r5-\(path)", "\(path)")
            }
        }
    }

    /// A promise kept before its start returns: the start's code after it
    /// still sees its own request; the loop's next job sees none.
    @Test func aPromiseKeptAtOnceLeavesTheStartItsOwnIdAndTheLoopNone() async throws {
        try await Self.withServer { port, seen, loop in
            let client = try await offThePool { try RawHTTPClient(port: port) }
            defer { client.close() }
            try client.send("GET /at-once HTTP/1.1\r\nHost: x\r\nX-Request-Id: r5-at-once\r\n\r\n")
            let response = try await client.readResponse()
            #expect(response.text == "r5-at-once")
            let lines = seen.withLock { $0 }
            #expect(lines == ["after keep: r5-at-once"])
            #expect(await Self.seenOnLoop(loop) == "none")
        }
    }

    /// Connection 1's promise is kept by connection 2's answer, in place on
    /// the same loop; keeping it answers connection 1's pipelined request
    /// there too. Each piece of code sees its own request's id, and
    /// connection 2's handler sees its own again afterwards.
    @Test func aPromiseKeptFromAnotherRequestsAnswerNestsTheBindings() async throws {
        try await Self.withServer { port, seen, loop in
            let first = try await offThePool { try RawHTTPClient(port: port) }
            defer { first.close() }
            let second = try await offThePool { try RawHTTPClient(port: port) }
            defer { second.close() }
            // Held, with a request pipelined behind it.
            try first.send("GET /hold HTTP/1.1\r\nHost: x\r\nX-Request-Id: r5-held\r\n\r\n"
                + "GET /now HTTP/1.1\r\nHost: x\r\nX-Request-Id: r5-behind\r\n\r\n")
            let holding = await eventually(within: .seconds(5)) { seen.withLock { $0.contains("holding r5-held") } }
            #expect(holding)
            try second.send("GET /keep-held HTTP/1.1\r\nHost: x\r\nX-Request-Id: r5-keeper\r\n\r\n")
            let kept = try await first.readResponse()
            let behind = try await first.readResponse()
            let keeper = try await second.readResponse()
            #expect(kept.text == "made for r5-held")
            #expect(behind.text == "r5-behind")
            #expect(keeper.text == "r5-keeper after keeping")
            #expect(await Self.seenOnLoop(loop) == "none")
        }
    }

    /// A client that hangs up cancels its promised request's call, whichever
    /// way the call's target was installed: on the server's promise (its own
    /// cancellation), on a filtered promise's `cancellation`, or on the
    /// filtered promise itself as a `CallCancellation` — and a filtered
    /// promise then says it is cancelled.
    @Test(arguments: ["direct", "filtered-cancellation", "filtered-itself"])
    func aHangUpCancelsThePromisedCallHoweverItsTargetWasInstalled(way: String) async throws {
        try await Self.withServer { port, seen, _ in
            let client = try await offThePool { try RawHTTPClient(port: port) }
            try client.send("GET /target/\(way) HTTP/1.1\r\nHost: x\r\n\r\n")
            let installed = await eventually(within: .seconds(5)) { seen.withLock { $0.contains("installed") } }
            #expect(installed)
            client.close()
            let callCancelled = await eventually(within: .seconds(5)) { seen.withLock { $0.contains("call cancelled") } }
            let lines = seen.withLock { $0 }
            #expect(callCancelled, "\(lines)")
            if way != "direct" {
                let promiseCancelled = await eventually(within: .seconds(5)) { seen.promise.withLock { $0?.isCancelled } == true }
                #expect(promiseCancelled)
            }
        }
    }

    // MARK: Fixture

    private final class Target: CallCancellationTarget {
        let seen: Seen
        init(_ seen: Seen) { self.seen = seen }
        func callCancelled() { seen.withLock { $0.append("call cancelled") } }
    }

    private static var currentID: String { HTTPRequestLogMetadata.current?.requestID.description ?? "none" }

    /// What `current` is in a job the loop runs on its own.
    private static func seenOnLoop(_ loop: EventLoop) async -> String {
        await withCheckedContinuation { continuation in
            loop.execute { continuation.resume(returning: currentID) }
        }
    }

    /// Stamps a filtered response with nothing: only its being a filter matters.
    private final class PassThrough: HTTPResponseFilter {
        func filter(_ response: consuming HTTPResponse) -> HTTPResponse { response }
    }

    /// What handlers saw, and the promise `/hold` leaves for `/keep-held`.
    private final class Seen: Sendable {
        let lines = Mutex<[String]>([])
        let promise = Mutex<HTTPPromise?>(nil)
        func withLock<T: Sendable>(_ body: (inout [String]) -> T) -> T { lines.withLock { body(&$0) } }
    }

    private static func withServer(_ body: (UInt16, Seen, EventLoop) async throws -> Void) async throws {
        let seen = Seen()
        let held = seen
        let filter = PassThrough()
        var router = Router()
        router.add(.get, "/now", name: "now") { _, _ in .now(HTTPResponse(status: .ok, body: Array(currentID.utf8))) }
        router.add(.get, "/promised-task", name: "promised-task") { _, _ in
            .promised { _, _, promise in
                promise.cancellation.startTask {
                    let inTask = currentID
                    promise.succeed(HTTPResponse(status: .ok, body: Array("\(inTask) \(currentID)".utf8)))
                }
            }
        }
        router.add(.get, "/filtered-task", name: "filtered-task") { _, _ in
            .promised { _, _, promise in
                let filtered = promise.filtered(by: filter)
                filtered.cancellation.startTask {
                    let inTask = currentID
                    filtered.succeed(HTTPResponse(status: .ok, body: Array("\(inTask) \(currentID)".utf8)))
                }
            }
        }
        router.add(.get, "/at-once", name: "at-once") { _, _ in
            .promised { _, _, promise in
                promise.succeed(HTTPResponse(status: .ok, body: Array(currentID.utf8)))
                seen.withLock { $0.append("after keep: \(currentID)") }
            }
        }
        router.add(.get, "/hold", name: "hold") { _, _ in
            .promised { _, _, promise in
                held.promise.withLock { $0 = promise }
                seen.withLock { $0.append("holding \(currentID)") }
            }
        }
        router.add(.get, "/keep-held", name: "keep-held") { _, _ in
            let promise = held.promise.withLock { $0.take() }
            promise?.succeed(HTTPResponse(status: .ok, body: Array("made for \(currentID)".utf8)))
            return .now(HTTPResponse(status: .ok, body: Array("\(currentID) after keeping".utf8)))
        }
        router.add(.get, "/target/{way}", name: "target") { _, context in
            let way = context.parameters["way"] ?? ""
            return .promised { _, _, promise in
                let target = Target(seen)
                switch way {
                case "direct":
                    promise.cancellation.onCancel(target)
                case "filtered-cancellation":
                    let filtered = promise.filtered(by: filter)
                    held.promise.withLock { $0 = filtered }
                    filtered.cancellation.onCancel(target)
                default:
                    let filtered = promise.filtered(by: filter)
                    held.promise.withLock { $0 = filtered }
                    filtered.onCancel(target)
                }
                seen.withLock { $0.append("installed") }
            }
        }
        let group = try EventLoopGroup(loopCount: 1, namePrefix: "review5-metadata")
        let server = HTTPServer(configuration: HTTPServerConfiguration(listenAddress: "127.0.0.1:0"), responder: router,
                                eventLoopGroup: group, logger: Logger(label: "review5"))
        try await server.serving(on: group) { port in try await body(port, seen, group.loops[0]) }
    }
}
