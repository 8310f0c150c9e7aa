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

/// Review of a cross-loop hand-over (wip-sem, session 11: a waiter's task
/// went on on the loop that resumed it and wrote its answer from there).
/// A waiter's task goes on on its connection's loop, after that loop has
/// handled the events of its batch: a hang-up waiting there is seen first,
/// the task is cancelled, and what the store granted goes back
/// (`LockEngine.deliverable`). An answer written from another loop's thread
/// would not wait for that hang-up: `send` takes it (the peer's FIN does not
/// fail the first write), and the lease stays held by nobody for its TTL.
@Suite(.serialized) struct CrossLoopHandOffReviewTests {
    /// The waiter's loop is busy (as under load) when its client hangs up
    /// and another loop's release frees the lock: in memory the release wakes
    /// the waiter, whose task takes the lock; on Redis the release's script
    /// hands it over, and its reply is read on the releaser's loop.
    @Test(arguments: StoreKind.allCases)
    func aWaiterWhoseClientHungUpWhileItsLoopWasBusyDoesNotKeepTheGrant(store kind: StoreKind) async throws {
        try await kind.withRedis { redis in
            try await waiterWhoseClientHungUpWhileItsLoopWasBusy(redis)
        }
    }

    private func waiterWhoseClientHungUpWhileItsLoopWasBusy(_ redis: RedisServerFixture?) async throws {
        let loops = try EventLoopGroup(loopCount: 2, namePrefix: "review-handoff")
        let logger = Logger(label: "review-handoff")
        let backend = try redis.map { try RedisLockBackend(configuration: try RedisConfiguration(url: $0.url), loops: loops, logger: logger) }
        let metrics = LockdMetrics(store: backend == nil ? "memory" : "redis")
        let engine = LockEngine(store: backend?.store ?? InMemoryLockStore(), loops: loops, upkeepLoop: backend?.upkeepLoop,
                                metrics: metrics.lock, logger: logger)
        let api = metrics.api(engine: engine, redis: nil, accessLog: nil) { 0 }
        let requestLoop = LoopNote()
        let server = HTTPServer(configuration: HTTPServerConfiguration(listenAddress: "127.0.0.1:0"),
                                responder: LoopNotingResponder(next: api.responder, loop: requestLoop),
                                eventLoopGroup: loops, logger: logger, observer: api.observer)
        let port = try server.start()[0].port
        let runner = Task { await engine.run() }
        defer {
            runner.cancel()
            loops.shutdown()
        }
        let name = try LockName(uniqueLockName())
        let holder = try await engine.acquire(AcquireRequest(name: name, ttlMs: 60_000))
        let client = try RawHTTPClient(port: port)
        let body = #"{"ttl_ms":60000,"wait_ms":30000}"#
        try client.send("POST /locks/\(name.value) HTTP/1.1\r\nHost: lockd\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body)
        let queued = await eventually { engine.waiterCount == 1 }
        #expect(queued)
        guard let waiterLoop = requestLoop.loop.withLock({ $0 }), let releaserLoop = loops.loops.first(where: { $0 !== waiterLoop })
        else { throw TestFailure("the waiter's loop is unknown") }

        // The waiter's loop is held busy; its client hangs up meanwhile.
        let busy = DispatchSemaphore(value: 0)
        let free = DispatchSemaphore(value: 0)
        // Runs before the group's shutdown (defers run in reverse): a failure
        // below must not leave the loop blocked, or the shutdown's join hangs.
        defer { free.signal() }
        waiterLoop.execute {
            busy.signal()
            free.wait()
        }
        try await offThePool {
            guard busy.wait(timeout: .now() + 10) == .success else { throw TestFailure("the waiter's loop never ran the job") }
        }
        client.close()
        // The holder releases on the other loop. Whatever the release wakes
        // there runs before this job, queued from the release's completion:
        // a task that went on there has written its answer by then.
        let releaseDone = DispatchSemaphore(value: 0)
        releaserLoop.execute {
            engine.release(name, token: holder.lease.token, cancellation: CallCancellation()) { _ in
                releaserLoop.execute { releaseDone.signal() }
            }
        }
        try await offThePool {
            guard releaseDone.wait(timeout: .now() + 10) == .success else { throw TestFailure("the release never completed") }
        }
        let status = await Task(executorPreference: releaserLoop) { try? await engine.status(of: name) }.value
        let fences = status?.holders.map(\.fence) ?? [holder.lease.fence]
        free.signal()
        #expect(!fences.contains(holder.lease.fence), "the holder's release did not take effect")
        if backend != nil { #expect(fences.contains { $0 > holder.lease.fence }, "the release did not hand the lock to the waiter") }

        // The waiter's loop sees the hang-up now: nothing may stay held for the gone client.
        let closed = await eventually(within: .seconds(5)) { server.openConnectionCount == 0 }
        #expect(closed)
        var holders = -1
        _ = await eventually(within: .seconds(5)) {
            holders = (try? await engine.status(of: name).holders.count) ?? -1
            return holders == 0
        }
        #expect(holders == 0, "the lock handed to a client that had hung up is still held")
        await server.shutdown(gracePeriod: .seconds(1))
        await backend?.shutdown()
    }
}

/// The loop the last request was read on.
private final class LoopNote: Sendable {
    let loop = Mutex<EventLoop?>(nil)
}

/// Passes each request on, noting the loop it was read on.
private struct LoopNotingResponder<Next: HTTPResponder>: HTTPResponder {
    let next: Next
    let loop: LoopNote

    func answer(to request: HTTPRequest, context: HTTPRequestContext) -> HTTPAnswer {
        loop.loop.withLock { $0 = context.eventLoop }
        return next.answer(to: request, context: context)
    }

    nonisolated(nonsending) func respond(to request: HTTPRequest, context: HTTPRequestContext) async -> HTTPResponse {
        await answer(to: request, context: context).response(to: request, context: context)
    }
}
