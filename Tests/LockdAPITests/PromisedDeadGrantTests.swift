import Dispatch
import Foundation
import LockEngine
import LockdAPI
import LockdAuth
import LockdHTTP
import LockdTestSupport
import LockdTransport
import Logging
import Synchronization
import Testing

/// Review of issue 22: a promised acquire whose store answers off the
/// request's loop (a store that only awaits — on Redis: `replicated`
/// durability, a Cluster) keeps its promise from that thread, and the
/// response is written by a job on the loop. A client seen gone between the
/// engine's last look at the cancellation and that job must not keep the
/// grant (no dead grants: PRODUCT.md), as it does not on the task path,
/// where the look and the write run on the loop without a gap.
@Suite struct PromisedDeadGrantTests {
    @Test func aClientGoneBeforeItsPromisedGrantIsWrittenDoesNotKeepTheGrant() async throws {
        try await expectTheGrantGoesBack(
            "review-dead-grant", store: { loop, steps in HookedStore(InMemoryLockStore()) { await steps.granted(loop) } },
            signalsDelivery: true,
            // Asked means granted here: the store holds the loop until the grant is delivered.
            asked: "the store never granted",
            hangUp: { client in client.close() },
            stillHeld: "the grant to a client that was gone before its answer was written is still held")
    }

    /// With auth on, a lock request is answered in a task that awaits the
    /// promise (`HTTPAnswer.response`). A store that answers on the loop
    /// (Redis's single server: the reply is read there) grants while the
    /// client's hang-up waits in the same epoll batch: the engine looks at
    /// the cancellation before the loop sees the hang-up, the task resumes
    /// after it, and the 201 is dropped. On main the engine's own look ran in
    /// the resumed task (`Task.isCancelled`) and gave the grant back.
    @Test func underAuthAClientGoneAsItsGrantIsReadOnTheLoopDoesNotKeepTheGrant() async throws {
        let secret = "review1-secret-for-dead-grants"
        let digest = SHA256Digest(hashing: secret)?.hex ?? ""
        let policy = try AuthFile.parse(Array(#"{"clients": [{"id": "review", "sha256": "\#(digest)", "grants": [{"names": "*", "actions": ["lock", "read"]}]}]}"#.utf8), file: "test")
        try await expectTheGrantGoesBack(
            "review-dead-grant-auth", store: { loop, steps in LoopAnsweringStore(InMemoryLockStore(), loop: loop, steps: steps) },
            access: AccessRules(policy: policy), fields: "Authorization: Bearer \(secret)\r\n",
            asked: "the store was never asked",
            hangUp: { client in client.close() },
            stillHeld: "the grant to a client that hung up as it was granted is still held")
    }

    /// Without auth the promise is kept where the store's reply is read —
    /// on Redis's single server, on the loop, during its epoll batch — and
    /// the 201 written at once: a hang-up waiting in the same batch, or
    /// come since the loop polled, is not seen yet. (Session 14: the
    /// engine's last look at the cancellation cannot see it either; the
    /// server looks at the socket before it writes.)
    @Test func aClientGoneAsItsGrantIsReadOnTheLoopDoesNotKeepTheGrant() async throws {
        try await expectTheGrantGoesBack(
            "review-dead-grant-loop", store: { loop, steps in LoopAnsweringStore(InMemoryLockStore(), loop: loop, steps: steps) },
            asked: "the store was never asked",
            // The store answers in a job on the loop, once the hang-up is at the server's socket.
            hangUp: { client in try await client.closeAndAwaitAcknowledgement() },
            stillHeld: "the grant to a client that hung up as it was granted is still held")
    }

    /// Each test's course (the tests differ in the store, auth and how the
    /// client hangs up): a server of one loop over the store `store` makes
    /// (the API checking requests against `access`, when given; signalling
    /// ``Steps/delivered`` when `signalsDelivery`); a client asks for a lock
    /// (with `fields` in its head) and, once the store was asked, hangs up
    /// by `hangUp`. Expects the server to close the connection, the lock
    /// then to be held by nobody (waited for up to 5 s; else `stillHeld`),
    /// and every step to have come.
    private func expectTheGrantGoesBack(
        _ label: String,
        store makeStore: (EventLoop, Steps) -> any LockStore,
        access: AccessRules? = nil,
        fields: String = "",
        signalsDelivery: Bool = false,
        asked: String,
        hangUp: (RawHTTPClient) async throws -> Void,
        stillHeld: Comment,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let loops = try EventLoopGroup(loopCount: 1, namePrefix: label)
        let loop = loops.next()
        let steps = Steps()
        let store = makeStore(loop, steps)
        let logger = Logger(label: label)
        let metrics = LockdMetrics(store: "memory")
        let engine = LockEngine(store: store, loops: loops, metrics: metrics.lock, logger: logger)
        let api = metrics.api(engine: engine, redis: nil, accessLog: nil, access: access) { 0 }
        let responder = SignallingResponder(next: api.responder, delivered: signalsDelivery ? steps.delivered : nil)
        let server = HTTPServer(configuration: HTTPServerConfiguration(listenAddress: "127.0.0.1:0"), responder: responder,
                                eventLoopGroup: loops, logger: logger, observer: api.observer)
        let port = try server.start()[0].port
        let runner = Task { await engine.run() }
        defer {
            steps.release()
            runner.cancel()
            loops.shutdown()
        }
        let name = try LockName(uniqueLockName())
        let client = try RawHTTPClient(port: port)
        let body = #"{"ttl_ms":60000}"#
        try client.send("POST /locks/\(name.value) HTTP/1.1\r\nHost: lockd\r\n\(fields)Content-Length: \(body.utf8.count)\r\n\r\n" + body)
        try await steps.waitAsked(asked)
        try await hangUp(client)
        steps.closed.signal()
        let closedAgain = await eventually(within: .seconds(5)) { server.openConnectionCount == 0 }
        #expect(closedAgain, sourceLocation: sourceLocation)
        var holders = -1
        _ = await eventually(within: .seconds(5)) {
            holders = (try? await engine.status(of: name).holders.count) ?? -1
            return holders == 0
        }
        #expect(holders == 0, stillHeld, sourceLocation: sourceLocation)
        #expect(steps.failures.isEmpty, "\(steps.failures)", sourceLocation: sourceLocation)
        await server.shutdown(gracePeriod: .seconds(1))
    }

    /// The order of the test's steps, across the store's task, the loop and
    /// the test. Every wait is bounded (a step that never comes is noted in
    /// ``failures``, and the test fails), and none blocks the shared pool:
    /// a blocked loop or pool thread would hang the whole test process.
    fileprivate final class Steps: Sendable {
        /// The store was asked (and, for ``granted(_:)``, has granted).
        let asked = DispatchSemaphore(value: 0)
        /// The test's client has hung up.
        let closed = DispatchSemaphore(value: 0)
        /// The promise was kept (``SignallingResponder``).
        let delivered = DispatchSemaphore(value: 0)
        private let missed = Mutex<[String]>([])

        /// The steps that never came, in the order their waits ended.
        var failures: [String] { missed.withLock { $0 } }

        /// In the store's task, once granted: holds the loop until the
        /// promise is delivered, and lets the grant return only once the
        /// client has hung up.
        func granted(_ loop: EventLoop) async {
            let blocking = DispatchSemaphore(value: 0)
            loop.execute { [self] in
                blocking.signal()
                wait(for: delivered, "the promise was never delivered")
            }
            await offThePool { [self] in
                wait(for: blocking, "the loop never ran the holding job")
                asked.signal()
                wait(for: closed, "the test never hung up")
            }
        }

        /// Returns once the store was asked.
        func waitAsked(_ failure: String) async throws {
            try await offThePool { [asked] in
                guard asked.wait(timeout: .now() + 10) == .success else { throw TestFailure(failure) }
            }
        }

        /// Lets the loop and the store's task go on, as the test does when
        /// it succeeds; it must run before the loops' shutdown, which waits
        /// for the loop.
        func release() {
            closed.signal()
            delivered.signal()
        }

        /// Waits (on a loop or a thread of its own) for `step`, noting a failure after 10 s.
        func wait(for step: DispatchSemaphore, _ failure: String) {
            if step.wait(timeout: .now() + 10) == .timedOut { missed.withLock { $0.append(failure) } }
        }
    }
}

/// Passes promised answers on, signalling `delivered` once each is
/// delivered (which, off the loop, queues the write on the loop); with no
/// `delivered`, passes every answer on as it is.
private struct SignallingResponder<Next: HTTPResponder>: HTTPResponder {
    let next: Next
    let delivered: DispatchSemaphore?

    func answer(to request: HTTPRequest, context: inout HTTPRequestContext) -> HTTPAnswer {
        let answer = next.answer(to: request, context: &context)
        // (Bound here: the promise's closure captures the semaphore, not `self`.)
        guard let delivered, case .promised(let start) = answer else { return answer }
        return .promised { request, context, promise in
            start(request, context, HTTPPromise(cancellation: promise.cancellation, metadata: nil) { response in
                promise.succeed(response)
                delivered.signal()
            })
        }
    }

    nonisolated(nonsending) func respond(to request: HTTPRequest, context: HTTPRequestContext) async -> HTTPResponse {
        await respondByAnswering(to: request, context: context)
    }
}

/// A store that only awaits (not an ``ImmediateLockStore``): its callback
/// forms run in a task, as Redis's do for `replicated` or in a Cluster.
/// Runs `onGrant` in the acquire's task after each grant.
private final class HookedStore: ForwardingLockStore {
    let inner: any LockStore
    private let onGrant: @Sendable () async -> Void

    init(_ inner: InMemoryLockStore, onGrant: @escaping @Sendable () async -> Void) {
        self.inner = inner
        self.onGrant = onGrant
    }

    nonisolated(nonsending) func acquire(_ attempt: AcquireAttempt) async throws(LockError) -> AcquireResult {
        let result = try await inner.acquire(attempt)
        if case .granted = result { await onGrant() }
        return result
    }
}

/// A store that answers its callback acquire on `loop`, as Redis's single
/// server does (the reply is read there) — once the test has hung up its
/// client, so that the hang-up waits in the loop's next epoll batch.
private final class LoopAnsweringStore: ForwardingLockStore {
    private let memory: InMemoryLockStore
    private let loop: EventLoop
    private let steps: PromisedDeadGrantTests.Steps

    var inner: any LockStore { memory }

    init(_ memory: InMemoryLockStore, loop: EventLoop, steps: PromisedDeadGrantTests.Steps) {
        self.memory = memory
        self.loop = loop
        self.steps = steps
    }

    func acquire(_ attempt: AcquireAttempt, cancellation: CallCancellation, completion: @escaping StoreCompletion<AcquireResult>) {
        loop.execute { [memory, steps] in
            steps.asked.signal()
            steps.wait(for: steps.closed, "the test never hung up")
            completion(Result { () throws(LockError) in try memory.acquireAtOnce(attempt) })
        }
    }
}
