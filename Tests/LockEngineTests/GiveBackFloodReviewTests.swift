import Foundation
import LockdRedis
import LockdTestSupport
import LockdTransport
import LockEngine
import Logging
import Synchronization
import Testing

/// Review (session 10, wip-lead e09de94): every no-wait acquire answered 503
/// now queues a give-back, and the upkeep gives them back one round trip at
/// a time between two liveness beats. After an outage under load, those
/// give-backs must not hold the beat back past the store's liveness window
/// (600 ms): a waiter of this lockd would count as gone, and a release
/// would pass it over for a later waiter of another lockd (FIFO broken).
@Suite(.serialized) struct GiveBackFloodReviewTests {
    /// No-wait acquires fired while Redis is frozen (all answered 503): the
    /// give-back list's own bound.
    static let answered503 = 10_000

    @Test func aWaiterKeepsItsPlaceWhileTheAcquiresAnswered503AreGivenBack() async throws {
        let server = try await offThePool { try RedisServerFixture.start() }
        // Through a relay: a round trip as long as a short network's (~0.1 ms),
        // not loopback's, as between lockd and Redis in any deployment.
        let relay = try TCPRelay(to: Int(server.port))
        let loops = try EventLoopGroup(loopCount: 1, namePrefix: "flood-test")
        let backend = try RedisLockBackend(configuration: try RedisConfiguration(url: "redis://127.0.0.1:\(relay.port)"), loops: loops,
                                           logger: Logger(label: "test"))
        let engine = LockEngine(store: backend.store, configuration: .init(), loops: loops, upkeepLoop: backend.upkeepLoop,
                                logger: Logger(label: "test"))
        let runner = Task { await engine.run() }
        // Another lockd on the same Redis (directly, no relay).
        let second = try RedisLockBackend(configuration: try RedisConfiguration(url: server.url), loops: loops, logger: Logger(label: "test"))
        let otherEngine = LockEngine(store: second.store, configuration: .init(), loops: loops, upkeepLoop: second.upkeepLoop,
                                     logger: Logger(label: "test"))
        let otherRunner = Task { await otherEngine.run() }
        func tearDown() async {
            runner.cancel()
            otherRunner.cancel()
            await backend.store.close()
            await backend.shutdown()
            await second.store.close()
            await second.shutdown()
            relay.stop()
            await offThePool { server.stop() }
            loops.shutdown()
        }
        do {
            // An outage under load: Redis freezes, every no-wait acquire is
            // answered 503 (each now queues a give-back).
            server.pause()
            let answered = Atomic<Int>(0)
            let unavailable = Atomic<Int>(0)
            for index in 0..<Self.answered503 {
                let request = AcquireRequest(name: try LockName("flood:\(index)"), ttlMs: 60_000)
                engine.acquire(request, cancellation: CallCancellation()) { result in
                    if case .failure(.unavailable) = result { unavailable.add(1, ordering: .relaxed) }
                    answered.add(1, ordering: .relaxed)
                }
            }
            let allAnswered = await eventually(within: .seconds(30)) { answered.load(ordering: .relaxed) == Self.answered503 }
            server.resume()
            try #require(allAnswered, "\(answered.load(ordering: .relaxed)) of \(Self.answered503) acquires answered")
            #expect(unavailable.load(ordering: .relaxed) == Self.answered503)

            // Redis is back. A holder, then a waiter of this lockd. (The
            // client may be between two attempts to reconnect, each of which
            // timed out while Redis was frozen: until its next one, calls
            // fail at once. The holder asks again with its token until then.)
            let name = try LockName(uniqueLockName())
            let holder = AcquireAttempt(name: name, token: .random(), ttlMs: 60_000, owner: "holder", waiter: nil)
            let held = try await retrying(within: .seconds(10)) { try await backend.store.acquire(holder) }
            guard case .granted = held else { throw TestFailure("the holder was not granted") }
            let waiter = Task { try await engine.acquire(AcquireRequest(name: name, ttlMs: 60_000, waitMs: 30_000, owner: "first")) }
            // Queued in Redis, not only counted here: the enqueue is what
            // puts this lockd in the instances key read next.
            let firstQueued = try await eventually { try await backend.store.status(of: name).waiting == 1 }
            #expect(firstQueued)
            // Ours, the only instance with a waiter so far.
            let port = server.port
            let instances = await offThePool { RedisAdminClient.call(port: port, "ZRANGE", "lockd:instances", "0", "-1")?.array ?? [] }
            let ours = try #require(instances.count == 1 ? instances[0].string : nil, "instances: \(instances)")
            let laterWaiter = Task {
                try await otherEngine.acquire(AcquireRequest(name: name, ttlMs: 60_000, waitMs: 30_000, owner: "second"))
            }
            let secondQueued = try await eventually { try await backend.store.status(of: name).waiting == 2 }
            #expect(secondQueued)

            // This lockd's liveness as the store sees it: the waiter's enqueue
            // set it to now + 600 ms; a beat (every 100 ms) moves it on.
            let watch: (lapsed: Bool, note: String) = try await offThePool {
                let admin = try RedisAdminClient(port: port)
                func score() throws -> Int64? {
                    guard let text = try admin.call("ZSCORE", "lockd:instances", ours).string else { return nil }
                    return Int64(Double(text) ?? 0)
                }
                func now() throws -> Int64 {
                    let time = try admin.call("TIME").array ?? []
                    let seconds = Int64(time.first?.string ?? "0") ?? 0
                    let micros = Int64(time.count > 1 ? time[1].string ?? "0" : "0") ?? 0
                    return seconds * 1000 + micros / 1000
                }
                guard try score() != nil else { return (false, "no instance score") }
                // The give-backs start as Redis resumes; 5 s covers them.
                let end = try now() + 5_000
                var beats = 0
                var last: Int64 = 0
                while true {
                    guard let current = try score() else { return (true, "the instance left the instances key") }
                    if current != last { beats += 1 }
                    last = current
                    let at = try now()
                    if at > current { return (true, "no beat for \(at - current + RedisLockStore.livenessWindowMs) ms") }
                    if at > end { return (false, "\(beats) beats in 5 s, none late") }
                    usleep(2_000)
                }
            }
            #expect(!watch.lapsed, "this lockd's liveness lapsed while it gave back the acquires answered 503: \(watch.note)")

            // What a lapse costs: the holder's release, made now, passes our
            // first waiter over for the other lockd's, queued after it.
            _ = try await second.store.release(name, token: holder.token)
            var holders: [String?] = []
            _ = await eventually(within: .seconds(5)) {
                holders = (try? await backend.store.status(of: name).holders.map(\.owner)) ?? []
                return !holders.isEmpty
            }
            #expect(holders == ["first"], "the holder's release went to \(holders), not to the first waiter (\(watch.note))")
            laterWaiter.cancel()
            _ = try? await laterWaiter.value
            waiter.cancel()
            _ = try? await waiter.value
            await tearDown()
        } catch {
            await tearDown()
            throw error
        }
    }
}
