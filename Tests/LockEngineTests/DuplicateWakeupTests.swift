import LockdRedis
import LockdTestSupport
import LockdTransport
import LockEngine
import Logging
import Synchronization
import Testing

/// Pub/sub may deliver an announcement twice (a subscription still open on
/// the node a channel moved from, a demoted master forwarding a `PUBLISH`):
/// a repeated grant for a waiter that already took its lease must not give
/// that lease back.
@Suite struct DuplicateWakeupTests {
    @Test func aRepeatedGrantWakeupLeavesTheDeliveredLeaseHeld() async throws {
        try await StoreKind.redis.withRedis { server in
            let server = try #require(server)
            let loops = try EventLoopGroup(loopCount: 1, namePrefix: "duplicate-wakeup")
            defer { loops.shutdown() }
            let configuration = try RedisConfiguration(url: server.url)
            let backend = try RedisLockBackend(configuration: configuration, loops: loops, logger: Logger(label: "test"))
            let engine = LockEngine(store: backend.store, loops: loops, upkeepLoop: backend.upkeepLoop, logger: Logger(label: "test"))
            let runner = Task { await engine.run() }
            let spy = RedisClient(configuration: configuration, eventLoopGroup: loops, logger: Logger(label: "spy"))
            // Every announcement on the wake-up channel, as the engine hears it.
            let heard = Mutex<[String]>([])
            let subscription = try await spy.subscribe(to: ["lockd:waiting"])
            let listener = Task {
                for await event in subscription {
                    if case .message(let message) = event { heard.withLock { $0.append(message.string) } }
                }
            }
            try await retrying(within: .seconds(10)) { try await engine.checkReady() }

            let name = try LockName(uniqueLockName())
            let holder = try await engine.acquire(AcquireRequest(name: name, ttlMs: 30_000))
            let waiting = Task { try await engine.acquire(AcquireRequest(name: name, ttlMs: 30_000, waitMs: 20_000)) }
            let queued = await eventually(within: .seconds(10)) { engine.waiterCount == 1 }
            #expect(queued)
            // Released by another lockd instance: the waiter's own would hand
            // it the grant in the release's reply, not on the channel.
            let other = try RedisLockBackend(configuration: configuration, loops: loops, logger: Logger(label: "other"))
            #expect(try await other.store.release(name, token: holder.lease.token))
            let grant = try await waiting.value

            // The release handed the waiter its lease in the announcement:
            // `name`, the recheck, then `instance:waiter fence now`.
            var announcement: String?
            let announced = await eventually(within: .seconds(10)) {
                announcement = heard.withLock { $0 }.first { message in
                    let lines = message.split(separator: "\n")
                    return lines.first == name.value[...]
                        && lines.dropFirst(2).contains { $0.split(separator: " ").dropFirst().first == "\(grant.lease.fence)"[...] }
                }
                return announcement != nil
            }
            #expect(announced)
            let duplicate = try #require(announcement)
            let delivered = Mutex<Int?>(nil)
            spy.publish("lockd:waiting", message: duplicate) { receivers in delivered.withLock { $0 = receivers ?? -1 } }
            let answered = await eventually(within: .seconds(10)) { delivered.withLock { $0 } != nil }
            #expect(answered)
            #expect(delivered.withLock { $0 } ?? 0 >= 2, "the engine's subscription and the spy's")

            // Given back, the lease would be gone within a beat or two.
            let lost = await eventually(within: .seconds(2)) {
                (try? await engine.renew(name, token: grant.lease.token, ttlMs: nil)) == nil
            }
            #expect(!lost, "a duplicate wake-up ended the lease its client holds")
            #expect(try await engine.status(of: name).holders.map(\.fence) == [grant.lease.fence])

            try await engine.release(name, token: grant.lease.token)
            listener.cancel()
            subscription.cancel()
            runner.cancel()
            await spy.shutdown()
            await other.shutdown()
            await backend.shutdown()
        }
    }
}
