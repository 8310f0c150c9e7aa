import LockdTestSupport
import LockdTransport
import Logging
import Synchronization
import Testing

@testable import LockdHTTP

/// wip-redis29: the server's promise, as its call's cancellation, keeps
/// `CallCancellation`'s rules — the step (a store's call, a task's hook)
/// installed last runs once when the client hangs up, not the one it
/// replaced; a step installed once the client has gone runs at once; the
/// promise lets go of its step. (Written for a lock-free step kept by the
/// promise itself, measured and reverted; they hold on main's promise.)
@Suite struct PromiseCancellationStepTests {
    /// A target replaced by a hook is not called; the hook is, once.
    @Test func aHangUpRunsTheHookThatReplacedATargetAndNotTheTarget() async throws {
        try await Self.withServer { port, seen in
            let client = try await offThePool { try RawHTTPClient(port: port) }
            try client.send("GET /replaced HTTP/1.1\r\nHost: x\r\n\r\n")
            let installed = await eventually(within: .seconds(5)) { seen.lines.withLock { $0.contains("installed") } }
            #expect(installed)
            client.close()
            let hookRan = await eventually(within: .seconds(5)) { seen.lines.withLock { $0.contains("hook") } }
            #expect(hookRan)
            let cancelled = await eventually(within: .seconds(5)) { seen.promise.withLock { $0?.isCancelled } == true }
            #expect(cancelled)
            #expect(seen.lines.withLock { $0.filter { $0 == "hook" }.count } == 1)
            #expect(!seen.lines.withLock { $0.contains("target") })
        }
    }

    /// A target installed after the client hung up is called at once, on
    /// the installing thread; a second one too; the first not again.
    @Test func aTargetInstalledAfterTheHangUpIsCalledAtOnce() async throws {
        try await Self.withServer { port, seen in
            let client = try await offThePool { try RawHTTPClient(port: port) }
            try client.send("GET /held HTTP/1.1\r\nHost: x\r\n\r\n")
            let held = await eventually(within: .seconds(5)) { seen.promise.withLock { $0 } != nil }
            #expect(held)
            client.close()
            let cancelled = await eventually(within: .seconds(5)) { seen.promise.withLock { $0?.isCancelled } == true }
            #expect(cancelled)
            let promise = try #require(seen.promise.withLock { $0 })
            let first = Target(seen, "first")
            promise.cancellation.onCancel(first)
            #expect(seen.lines.withLock { $0 } == ["first"])
            promise.cancellation.onCancel(Target(seen, "second"))
            #expect(seen.lines.withLock { $0 } == ["first", "second"])
            promise.succeed(HTTPResponse(status: .ok))
        }
    }

    /// A cancelled promise lets go of the step it ran; one never cancelled,
    /// of its step once it is freed.
    @Test func aPromiseLetsGoOfItsStep() async throws {
        try await Self.withServer { port, seen in
            weak var ran: Target?
            weak var kept: Target?
            do {
                let client = try await offThePool { try RawHTTPClient(port: port) }
                try client.send("GET /held HTTP/1.1\r\nHost: x\r\n\r\n")
                let held = await eventually(within: .seconds(5)) { seen.promise.withLock { $0 } != nil }
                #expect(held)
                let promise = try #require(seen.promise.withLock { $0 })
                let target = Target(seen, "ran")
                ran = target
                promise.cancellation.onCancel(target)
                client.close()
                let cancelled = await eventually(within: .seconds(5)) { seen.lines.withLock { $0.contains("ran") } }
                #expect(cancelled)
                promise.succeed(HTTPResponse(status: .ok))
                seen.promise.withLock { $0 = nil }
            }
            #expect(ran == nil)
            do {
                let client = try await offThePool { try RawHTTPClient(port: port) }
                defer { client.close() }
                try client.send("GET /held HTTP/1.1\r\nHost: x\r\n\r\n")
                let held = await eventually(within: .seconds(5)) { seen.promise.withLock { $0 } != nil }
                #expect(held)
                let promise = try #require(seen.promise.withLock { $0.take() })
                let target = Target(seen, "kept")
                kept = target
                promise.cancellation.onCancel(target)
                promise.succeed(HTTPResponse(status: .ok))
                let answered = try await client.readResponse()
                #expect(answered.status == 200)
            }
            // The connection lets go of its promise once it has answered.
            let freed = await eventually(within: .seconds(5)) { kept == nil }
            #expect(freed)
            #expect(!seen.lines.withLock { $0.contains("kept") })
        }
    }

    // MARK: Fixture

    private final class Target: CallCancellationTarget {
        let seen: Seen
        let label: String
        init(_ seen: Seen, _ label: String) { (self.seen, self.label) = (seen, label) }
        func callCancelled() { seen.lines.withLock { $0.append(label) } }
    }

    /// What handlers saw, and the promise `/held` and `/replaced` leave.
    private final class Seen: Sendable {
        let lines = Mutex<[String]>([])
        let promise = Mutex<HTTPPromise?>(nil)
    }

    private static func withServer(_ body: (UInt16, Seen) async throws -> Void) async throws {
        let seen = Seen()
        var router = Router()
        router.add(.get, "/held", name: "held") { _, _ in
            .promised { _, _, promise in seen.promise.withLock { $0 = promise } }
        }
        router.add(.get, "/replaced", name: "replaced") { _, _ in
            .promised { _, _, promise in
                seen.promise.withLock { $0 = promise }
                promise.cancellation.onCancel(Target(seen, "target"))
                promise.cancellation.onCancel { seen.lines.withLock { $0.append("hook") } }
                seen.lines.withLock { $0.append("installed") }
            }
        }
        let group = try EventLoopGroup(loopCount: 1, namePrefix: "promise-step")
        let server = HTTPServer(configuration: HTTPServerConfiguration(listenAddress: "127.0.0.1:0"), responder: router,
                                eventLoopGroup: group, logger: Logger(label: "promise-step"))
        try await server.serving(on: group) { port in try await body(port, seen) }
    }
}
