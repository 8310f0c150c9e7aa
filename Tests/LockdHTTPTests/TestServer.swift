import LockdTestSupport
import LockdTransport
import Logging
import Synchronization
import Testing

@testable import LockdHTTP

/// A server on a free loopback port with the routes the socket tests use.
final class TestServer: Sendable {
    let group: EventLoopGroup
    let server: HTTPServer
    let port: UInt16
    /// What the `/wait` handler reports: "started", then "cancelled" or "finished".
    let events: AsyncStream<String>
    private let eventSink: AsyncStream<String>.Continuation
    /// Holds every `/gate` request until opened.
    let gate = Gate()

    init(configuration: HTTPServerConfiguration = HTTPServerConfiguration(listenAddress: "127.0.0.1:0"), loops: Int = 2) throws {
        let (events, sink) = AsyncStream.makeStream(of: String.self)
        self.events = events
        self.eventSink = sink
        group = try EventLoopGroup(loopCount: loops, namePrefix: "test-loop")
        var configuration = configuration
        if configuration.listenAddress == HTTPServerConfiguration().listenAddress {
            configuration.listenAddress = "127.0.0.1:0"
        }
        server = HTTPServer(configuration: configuration, responder: Self.router(sink, gate), eventLoopGroup: group, logger: Logger(label: "test"))
        port = try server.start()[0].port
    }

    func stop() async {
        await server.shutdown(gracePeriod: .seconds(1))
        group.shutdown()
        eventSink.finish()
    }

    /// Runs `body` with a fresh server and always stops it.
    static func with<T>(
        _ configuration: HTTPServerConfiguration = HTTPServerConfiguration(listenAddress: "127.0.0.1:0"),
        _ body: (TestServer) async throws -> T
    ) async throws -> T {
        let server = try TestServer(configuration: configuration)
        do {
            let result = try await body(server)
            await server.stop()
            return result
        } catch {
            await server.stop()
            throw error
        }
    }

    func client() throws -> RawHTTPClient { try RawHTTPClient(port: port) }

    /// The next `/wait` event, or nil when none comes within `timeout`.
    func nextEvent(within timeout: Duration = .seconds(5)) async -> String? {
        let events = self.events
        return await withTaskGroup(of: String?.self) { group in
            group.addTask {
                var iterator = events.makeAsyncIterator()
                return await iterator.next()
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    private static func router(_ sink: AsyncStream<String>.Continuation, _ gate: Gate) -> Router {
        var router = Router()
        router.add(.get, "/healthz") { _, _ in
            HTTPResponse(status: .ok, headers: ["Content-Type": "text/plain"], body: Array("ok".utf8))
        }
        router.add(.post, "/echo") { request, _ in
            HTTPResponse(status: .ok, headers: ["Content-Type": "application/octet-stream"], body: request.body)
        }
        router.add(.get, "/items/{name}") { _, context in
            HTTPResponse(status: .ok, body: Array((context.parameters["name"] ?? "").utf8))
        }
        router.add(.delete, "/items/{name}") { _, _ in HTTPResponse(status: .noContent) }
        router.add(.get, "/slow") { request, _ in
            try? await Task.sleep(for: .milliseconds(Int(request.query ?? "") ?? 100))
            return HTTPResponse(status: .ok, body: Array("slow".utf8))
        }
        router.add(.get, "/big") { _, _ in
            HTTPResponse(status: .ok, body: [UInt8](repeating: 0x61, count: 16 << 20))
        }
        router.add(.get, "/wait") { _, _ in
            sink.yield("started")
            try? await Task.sleep(for: .seconds(60))
            sink.yield(Task.isCancelled ? "cancelled" : "finished")
            return HTTPResponse(status: .ok)
        }
        router.add(.get, "/promised", name: "promised") { _, _ in
            // No task: the promise is kept from elsewhere once the gate opens.
            .promised { _, _, promise in
                sink.yield("started")
                promise.cancellation.onCancel { sink.yield("cancelled") }
                Task {
                    await gate.wait()
                    promise.succeed(HTTPResponse(status: .ok, body: Array("kept".utf8)))
                }
            }
        }
        router.add(.get, "/promised-at-once", name: "promised-at-once") { _, _ in
            // Kept before `start` returns, as a store that never waits keeps it.
            .promised { _, _, promise in promise.succeed(HTTPResponse(status: .ok, body: Array("at once".utf8))) }
        }
        // Each says whether its context's answer may be dropped unwritten.
        router.add(.get, "/droppable/now", name: "droppable-now") { _, context in
            .now(HTTPResponse(status: .ok, body: Array("\(context.answerMayBeDropped(now: MonotonicClock.now()))".utf8)))
        }
        router.add(.get, "/droppable/later", name: "droppable-later") { _, _ in
            .later { _, context in HTTPResponse(status: .ok, body: Array("\(context.answerMayBeDropped(now: MonotonicClock.now()))".utf8)) }
        }
        router.add(.get, "/droppable/promised", name: "droppable-promised") { _, _ in
            .promised { _, context, promise in
                promise.succeed(HTTPResponse(status: .ok, body: Array("\(context.answerMayBeDropped(now: MonotonicClock.now()))".utf8)))
            }
        }
        router.add(.get, "/gate") { _, _ in
            sink.yield("started")
            await gate.wait()
            return HTTPResponse(status: .ok, body: Array("through".utf8))
        }
        router.add(.get, "/stream") { _, _ in
            HTTPResponse(status: .ok, headers: ["Content-Type": "text/plain"], bodyStream: HTTPResponseBodyStream { writer in
                _ = await writer.write(Array("first\n".utf8))
                await gate.wait()
                _ = await writer.write(Array("second\n".utf8))
            })
        }
        router.add(.get, "/flood") { _, _ in
            HTTPResponse(status: .ok, bodyStream: HTTPResponseBodyStream { writer in
                let piece = [UInt8](repeating: 0x66, count: 16 << 10)
                var result = HTTPResponseBodyWriter.WriteResult.written
                while result == .written { result = await writer.write(piece) }
                let last = await writer.write(Array(": too slow\n".utf8))
                let after = await writer.write(piece)
                sink.yield("flood: \(result), last \(last), after \(after)")
            })
        }
        router.add(.get, "/endless") { _, _ in
            HTTPResponse(status: .ok, bodyStream: HTTPResponseBodyStream { writer in
                _ = await writer.write(Array("tick\n".utf8))
                try? await Task.sleep(for: .seconds(60))
                sink.yield(Task.isCancelled ? "ended: cancelled" : "ended: timed out")
            })
        }
        router.add(.get, "/pushed") { _, _ in
            // No task: the body is written from work run on the loop, and ends when told.
            let held = PushedWriter()
            return HTTPResponse(status: .ok, bodyStream: HTTPResponseBodyStream(pushed: { writer in
                held.writer.withLock { $0 = writer }
                writer.execute {
                    let result = writer.writeNow(Array("pushed\n".utf8))
                    sink.yield("pushed: \(result)")
                }
            }, ended: {
                sink.yield("pushed: ended")
                held.writer.withLock { $0 }?.endNow(closingConnection: false)
            }))
        }
        router.add(.get, "/loop") { _, context in
            HTTPResponse(status: .ok, body: Array("\(context.eventLoop.inEventLoop)".utf8))
        }
        return router
    }
}

/// A one-shot barrier: `wait()` returns once `open()` was called.
final class Gate: Sendable {
    private let state = Mutex<(isOpen: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func wait() async {
        await withCheckedContinuation { continuation in
            let resumeNow = state.withLock { state -> Bool in
                if state.isOpen { return true }
                state.waiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    func open() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.isOpen = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}

/// The writer of a `/pushed` body, for its end handler.
private final class PushedWriter: Sendable {
    let writer = Mutex<HTTPResponseBodyWriter?>(nil)
}
