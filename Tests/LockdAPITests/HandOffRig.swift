import Dispatch
import LockEngine
import LockdAPI
import LockdHTTP
import LockdRedis
import LockdTestSupport
import LockdTransport
import Logging
import Synchronization
import Testing

/// An engine (in memory, or on `redis`) behind an HTTP server, both on two
/// loops, for tests that hold one loop busy while the other releases; torn
/// down when `body` returns or throws. Defers in `body` run first: a test
/// must free any loop it holds there, or the loops' shutdown hangs.
func withHandOffRig(_ redis: RedisServerFixture?, label: String, _ body: (HandOffRig) async throws -> Void) async throws {
    let loops = try EventLoopGroup(loopCount: 2, namePrefix: label)
    let logger = Logger(label: label)
    let backend = try redis.map { try RedisLockBackend(configuration: try RedisConfiguration(url: $0.url), loops: loops, logger: logger) }
    let metrics = LockdMetrics(store: backend == nil ? "memory" : "redis")
    let engine = LockEngine(store: backend?.store ?? InMemoryLockStore(), loops: loops, upkeepLoop: backend?.upkeepLoop,
                            metrics: metrics.lock, logger: logger)
    let api = metrics.api(engine: engine, redis: nil, accessLog: nil) { 0 }
    let requests = RequestNotes()
    let server = HTTPServer(configuration: HTTPServerConfiguration(listenAddress: "127.0.0.1:0"),
                            responder: NotingResponder(next: api.responder, notes: requests),
                            eventLoopGroup: loops, logger: logger, observer: api.observer)
    let runner = Task { await engine.run() }
    defer {
        runner.cancel()
        loops.shutdown()
    }
    let rig = HandOffRig(loops: loops, backend: backend, engine: engine, server: server, port: try server.start()[0].port,
                         requests: requests)
    do {
        try await body(rig)
    } catch {
        await rig.shutdown()
        throw error
    }
    await rig.shutdown()
}

/// What ``withHandOffRig(_:label:_:)`` hands its body.
struct HandOffRig: Sendable {
    let loops: EventLoopGroup
    /// Nil in memory.
    let backend: RedisLockBackend?
    let engine: LockEngine
    let server: HTTPServer
    let port: UInt16
    /// The loop each request was read on, and what the tasks of waiting requests answered.
    let requests: RequestNotes

    /// The loop the last request was read on (its waiting task runs there), and the other.
    func requestLoops() throws -> (waiter: EventLoop, other: EventLoop) {
        guard let waiter = requests.loop.withLock({ $0 }), let other = loops.loops.first(where: { $0 !== waiter })
        else { throw TestFailure("the request's loop is unknown") }
        return (waiter, other)
    }

    /// Whether a release of `name` is sent and answered on the loop it is
    /// made on. For a few seconds after start, or while an event watcher
    /// may exist, a release also reads whose lease it ended, in a task on
    /// any loop: perhaps one a test holds.
    func releasesStayOnTheirLoop(_ name: LockName) -> Bool {
        backend?.store.mayWatch(name) != true
    }

    /// Releases `token`'s lease on `loop`, where a Redis release's reply is
    /// read (and the wake-up it carries handed on), and waits until it is
    /// done there: whatever the release resumed was queued by then.
    func release(_ name: LockName, token: LeaseToken, on loop: EventLoop) async throws {
        let done = DispatchSemaphore(value: 0)
        loop.execute { [engine] in
            engine.release(name, token: token, cancellation: CallCancellation()) { _ in
                loop.execute { done.signal() }
            }
        }
        try await offThePool {
            guard done.wait(timeout: .now() + 10) == .success else { throw TestFailure("the release never completed") }
        }
    }

    /// The fences that hold `name` now (nil when the store cannot say),
    /// asked from `loop` when given: on Redis, a call made elsewhere may
    /// go out on a loop a test holds.
    func fences(of name: LockName, from loop: EventLoop? = nil) async -> [Int64]? {
        await Task(executorPreference: loop) { [engine] in try? await engine.status(of: name).holders.map(\.fence) }.value
    }

    fileprivate func shutdown() async {
        await server.shutdown(gracePeriod: .seconds(1))
        await backend?.shutdown()
    }
}

/// A loop held busy by a job until ``release()``: as under load, with
/// whatever was queued behind it waiting. The hold ends by itself after
/// 30 s (and ``release()`` then fails the test), so that a test that never
/// lets go cannot hang the loops' shutdown, and with it the test process.
final class LoopHold: Sendable {
    private let entered = DispatchSemaphore(value: 0)
    private let freed = DispatchSemaphore(value: 0)
    private let lapsed = Atomic<Bool>(false)
    private let released = Atomic<Bool>(false)

    /// Queues the job that holds `loop`.
    init(_ loop: EventLoop) {
        loop.execute { [self] in
            entered.signal()
            if freed.wait(timeout: .now() + 30) == .timedOut { lapsed.store(true, ordering: .releasing) }
        }
    }

    /// Returns once the job runs (the loop is held).
    func waitHeld() async throws {
        try await offThePool { [entered] in
            guard entered.wait(timeout: .now() + 10) == .success else { throw TestFailure("the loop never ran the holding job") }
        }
    }

    /// Lets the loop go on; more calls do nothing more.
    func release() {
        guard !released.exchange(true, ordering: .acquiringAndReleasing) else { return }
        freed.signal()
        if lapsed.load(ordering: .acquiring) { Issue.record("the loop's hold lapsed after 30 s, before the test let it go") }
    }
}

/// What ``NotingResponder`` saw.
final class RequestNotes: Sendable {
    /// The loop the last request was read on.
    let loop = Mutex<EventLoop?>(nil)
    /// The statuses waiting requests' tasks answered, in order, whether or
    /// not the answer was then written.
    let answered = Mutex<[Int]>([])
}

/// Passes each request on, noting its loop and what its task answered.
private struct NotingResponder<Next: HTTPResponder>: HTTPResponder {
    let next: Next
    let notes: RequestNotes

    func answer(to request: HTTPRequest, context: inout HTTPRequestContext) -> HTTPAnswer {
        notes.loop.withLock { $0 = context.eventLoop }
        let answer = next.answer(to: request, context: &context)
        switch answer {
        case .later(let work):
            return .later { [notes] request, context in
                let response = await work(request, context)
                notes.answered.withLock { $0.append(response.status.code) }
                return response
            }
        case .promised(let start):
            // On Redis a waiting request is promised (its task, if it must
            // wait, is the engine's): noted as its promise is kept.
            return .promised { [notes] request, context, promise in
                let noting = HTTPPromise(cancellation: promise.cancellation, metadata: nil) { response in
                    notes.answered.withLock { $0.append(response.status.code) }
                    promise.succeed(response)
                }
                start(request, context, noting)
            }
        default:
            return answer
        }
    }

    nonisolated(nonsending) func respond(to request: HTTPRequest, context: HTTPRequestContext) async -> HTTPResponse {
        await respondByAnswering(to: request, context: context)
    }
}
