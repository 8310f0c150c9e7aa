import LockdTestSupport
import LockdTransport
import Logging
import Synchronization
import Testing

@testable import LockdHTTP

/// review16: the server's promise keeps the step a cancel abandons in an
/// atomic slot of its own (wip-redis29). Steps installed one after another
/// on one thread while the client's hang-up cancels the promise on the
/// loop's: whatever the interleaving, the steps that run are exactly a
/// suffix of those installed — the one in the slot when the cancel took
/// it, and every later one (run at once by its installer) — each once; no
/// step replaced before the cancel runs. Hooks and targets alike.
@Suite struct Review16PromiseStepRaceTests {
    private final class Target: CallCancellationTarget {
        let index: Int
        let ran: Ran
        init(_ index: Int, _ ran: Ran) { (self.index, self.ran) = (index, ran) }
        func callCancelled() { ran.indices.withLock { $0.append(index) } }
    }

    private final class Ran: Sendable {
        let indices = Mutex<[Int]>([])
    }

    @Test func stepsInstalledAsTheClientHangsUpRunAsASuffixEachOnce() async throws {
        let held = Mutex<HTTPPromise?>(nil)
        var router = Router()
        router.add(.get, "/held", name: "held") { _, _ in
            .promised { _, _, promise in held.withLock { $0 = promise } }
        }
        let group = try EventLoopGroup(loopCount: 1, namePrefix: "review16-step-race")
        let server = HTTPServer(configuration: HTTPServerConfiguration(listenAddress: "127.0.0.1:0"), responder: router,
                                eventLoopGroup: group, logger: Logger(label: "review16-step-race"))
        try await server.serving(on: group) { port in
            for round in 0..<40 {
                let client = try await offThePool { try RawHTTPClient(port: port) }
                try client.send("GET /held HTTP/1.1\r\nHost: x\r\n\r\n")
                let arrived = await eventually(within: .seconds(10)) { held.withLock { $0 } != nil }
                #expect(arrived)
                let promise = try #require(held.withLock { $0.take() })
                let ran = Ran()
                // Installs until it sees the cancel, then three more (run at once).
                let installer = Task.detached { () -> Int in
                    var index = 0
                    var after = 0
                    while after < 3 {
                        if promise.cancellation.isCancelled { after += 1 }
                        if (index + round) % 3 == 0 {
                            let own = index
                            promise.cancellation.onCancel { ran.indices.withLock { $0.append(own) } }
                        } else {
                            promise.cancellation.onCancel(Target(index, ran))
                        }
                        index += 1
                        if index % 64 == 0 { await Task.yield() }
                    }
                    return index
                }
                // Hang up once some are installed (any time will do).
                client.close()
                let installed = await installer.value
                // The cancel runs on the loop (the hang-up's handling), begun
                // before the installer saw it: a job queued now runs after it.
                await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in group.loops[0].execute { done.resume() } }
                let indices = ran.indices.withLock { $0 }
                let first = indices.min() ?? installed
                #expect(!indices.isEmpty, "round \(round): no step ran")
                #expect(indices.sorted() == Array(first..<installed), "round \(round): \(indices.count) ran of \(installed), from \(first): \(indices.sorted().prefix(8))")
                promise.succeed(HTTPResponse(status: .ok))
            }
        }
    }
}
