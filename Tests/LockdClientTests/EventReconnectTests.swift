import Foundation
import Synchronization
import LockdClient
import LockdTestSupport
import Testing

/// `LockClient.events(prefix:)` across faults: a restarted lockd (a gap), a
/// dropped connection to the same lockd (the missed events replayed, no
/// gap), cancellation, and a refused stream.
@Suite struct EventReconnectTests {
    @Test func eventsKeepComingAfterLockdRestartsWithTheGapSignalled() async throws {
        try await StoreKind.redis.withLockdProcess { first, redis in
            let redis = try #require(redis)
            let prefix = uniqueLockName() + ":"
            let seen = ElementLog()
            let reader = Task { for try await element in first.client().events(prefix: prefix) { seen.append(element) } }
            defer { reader.cancel() }
            #expect(await seen.waitForEvent(locks: first.client(), prefix: prefix + "before"), "the stream never opened")

            let (second, _) = try await first.restart(redis.lockdArguments())
            defer { Task { await second.stop() } }
            let after = await seen.waitForEvent(locks: second.client(), prefix: prefix + "after")
            #expect(after, "no event after the restart")
            let elements = seen.elements
            let gap = try #require(elements.firstIndex(of: .gap), "no gap signalled: \(elements)")
            let firstAfter = try #require(elements.firstIndex { $0.event?.name.hasPrefix(prefix + "after") == true })
            #expect(gap < firstAfter, "the gap came after the new stream's events")
            #expect(elements.filter { $0 == .gap }.count == 1)
        }
    }

    @Test func aDroppedConnectionToTheSameLockdReplaysWhatWasMissedWithoutAGap() async throws {
        try await StoreKind.memory.withLockd(logLevel: .info) { lockd in
            let relay = try TCPRelay(to: lockd.url.port ?? 0)
            defer { relay.stop() }
            let direct = lockd.client(owner: "events-replay")
            let prefix = uniqueLockName() + ":"
            let seen = ElementLog()
            let reader = Task {
                for try await element in LockClient(serverURL: relay.url, timeout: .seconds(10)).events(prefix: prefix) { seen.append(element) }
            }
            defer { reader.cancel() }
            #expect(await seen.waitForEvent(locks: direct, prefix: prefix + "before"), "the stream never opened")

            // Cut off (and kept off) while these happen.
            relay.refusing = true
            relay.cut()
            var fences: [Int64] = []
            for index in 0..<5 {
                let lease = try await direct.acquire(prefix + "missed\(index)", ttl: .seconds(30), autoRenew: false)
                fences.append(lease.fence)
                try await lease.release()
            }
            relay.refusing = false

            let missed = { seen.elements.compactMap(\.event).filter { $0.name.hasPrefix(prefix + "missed") } }
            let replayed = await eventually(within: .seconds(20)) { missed().count >= 10 }
            #expect(replayed, "missed events not replayed: \(missed())")
            #expect(missed().map(\.kind) == Array(repeating: [LockEvent.Kind.acquired, .released], count: 5).flatMap { $0 })
            #expect(missed().map(\.fence) == fences.flatMap { [$0, $0] })
            #expect(!seen.elements.contains(.gap), "a gap though the same lockd kept the events: \(seen.elements)")
            let ids = seen.elements.compactMap { $0.event?.id?.split(separator: "-").last.flatMap { Int($0) } }
            #expect(ids == ids.sorted() && Set(ids).count == ids.count, "ids repeated or out of order: \(ids)")
        }
    }

    @Test func cancellingTheReaderEndsTheSequencePromptlyWhetherStreamingOrReconnecting() async throws {
        try await StoreKind.memory.withLockd(logLevel: .info) { lockd in
            let relay = try TCPRelay(to: lockd.url.port ?? 0)
            defer { relay.stop() }
            let prefix = uniqueLockName() + ":"
            for reconnecting in [false, true] {
                let seen = ElementLog()
                let reader = Task {
                    for try await element in LockClient(serverURL: relay.url, timeout: .seconds(10)).events(prefix: prefix) { seen.append(element) }
                }
                #expect(await seen.waitForEvent(locks: lockd.client(), prefix: prefix + "open"), "the stream never opened")
                if reconnecting {
                    relay.refusing = true
                    relay.cut()
                }
                let started = ContinuousClock.now
                reader.cancel()
                await #expect(throws: CancellationError.self) { try await reader.value }
                #expect(ContinuousClock.now - started < .seconds(5), "cancellation took \(ContinuousClock.now - started)")
                relay.refusing = false
            }
        }
    }

    @Test func aForbiddenStreamThrowsAtOnceWithoutRetrying() async throws {
        try await StoreKind.memory.withLockd(logLevel: .info, configure: { configuration in
            configuration.authPolicy = try? AuthPolicyFixture.policy(lockOnly: "locker", secret: "locker-secret")
        }) { lockd in
            let locks = LockClient(serverURL: lockd.url, timeout: .seconds(30), bearerToken: "locker-secret")
            let started = ContinuousClock.now
            var events = locks.events(prefix: "").makeAsyncIterator()
            do {
                _ = try await events.next()
                Issue.record("the stream opened without a read grant")
            } catch let error as LockError {
                guard case .forbidden = error else { return #expect(Bool(false), "not forbidden: \(error)") }
            }
            // A retry loop would run until the 30 s timeout.
            #expect(ContinuousClock.now - started < .seconds(10))
        }
    }
}

/// The elements a reader task has received.
final class ElementLog: Sendable {
    private let log = Mutex<[LockEvents.Element]>([])

    var elements: [LockEvents.Element] { log.withLock { $0 } }

    func append(_ element: LockEvents.Element) {
        log.withLock { $0.append(element) }
    }

    /// Takes and releases leases named `prefix`1, 2 … through `locks`
    /// until the reader has seen one: whether it did within 20 s.
    func waitForEvent(locks: LockClient, prefix: String) async -> Bool {
        var round = 0
        return await eventually(within: .seconds(20)) {
            round += 1
            try? await locks.acquire(prefix + "\(round)", ttl: .seconds(30), wait: .seconds(1), autoRenew: false).release()
            return log.withLock { $0.contains { $0.event?.name.hasPrefix(prefix) == true } }
        }
    }
}
