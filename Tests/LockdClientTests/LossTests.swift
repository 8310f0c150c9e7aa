import Foundation
import LockdClient
import LockdTestSupport
import Synchronization
import Testing

@Suite("Lease loss: cancels withLock's body; a release is never a loss")
struct LossTests {
    @Test("a lease deleted in the store behind withLock's back cancels the body within one renewal interval; withLock throws leaseLost",
          arguments: StoreKind.allCases)
    func deletedBehindTheBack(store: StoreKind) async throws {
        try await store.withLockd { lockd async throws in
            let name = uniqueLockName()
            let ttl = Duration.seconds(6)  // renewals every ~2 s
            let locks = lockd.client()
            var deletedAt: ContinuousClock.Instant?
            var bodyCancelled = false
            do {
                try await locks.withLock(name, ttl: ttl) { lease in
                    try await lockd.deleteLease(name, token: lease.token)
                    deletedAt = .now
                    do {
                        try await Task.sleep(for: .seconds(60))
                    } catch is CancellationError {
                        bodyCancelled = true
                        #expect(lease.isLost)
                        throw CancellationError()
                    }
                }
                Issue.record("withLock returned normally although the lease was lost")
            } catch LockError.leaseLost {
                let detectedAfter = ContinuousClock.now - (deletedAt ?? .now)
                // One renewal interval (ttl / 3), plus room for a busy machine; and
                // well before the TTL, so it was the renewal that found out.
                #expect(detectedAfter < ttl / 3 + .seconds(2), "loss acted on after \(detectedAfter)")
            }
            #expect(bodyCancelled)
            // The caller's own task is not left cancelled.
            #expect(!Task.isCancelled)
            #expect(try await locks.status(name).isHeld == false)
        }
    }

    @Test("a lease is lost when lockd is paused past its TTL: the body is cancelled", arguments: StoreKind.allCases)
    func lockdPaused(store: StoreKind) async throws {
        try await store.withLockdProcess { lockd, _ in
            let locks = lockd.client()
            let ttl = Duration.milliseconds(4500)  // renewals every ~1.5 s
            var pausedAt: ContinuousClock.Instant?
            var expiryAtPause: Date?
            var bodyCancelled = false
            do {
                try await locks.withLock(uniqueLockName(), ttl: ttl) { lease in
                    try await Task.sleep(for: ttl)  // a renewal or two go through first
                    #expect(!lease.isLost)
                    expiryAtPause = lease.expiresAt
                    lockd.pause()
                    pausedAt = .now
                    do {
                        try await Task.sleep(for: .seconds(60))
                    } catch is CancellationError {
                        bodyCancelled = true
                        throw CancellationError()
                    }
                }
                Issue.record("withLock returned normally although the lease was lost")
            } catch LockError.leaseLost {
                // The deadline is at most one TTL after the last renewal was sent, which
                // was before the pause: loss is known within a TTL, plus room for a
                // busy machine. Never before the lease could have expired: the client's
                // deadline is the expiry lockd gave the last renewal answered, less that
                // renewal's way there (room: a third of the TTL). Counted from that
                // expiry, not from the pause: a renewal late or refused (503) on a busy
                // machine moves both the expiry and the loss earlier.
                let detectedAfter = ContinuousClock.now - (pausedAt ?? .now)
                #expect(detectedAfter < ttl + ttl / 3, "loss acted on after \(detectedAfter)")
                let earlyBy = (expiryAtPause ?? .distantPast).timeIntervalSinceNow
                let room = ttl / 3
                #expect(earlyBy < Double(room.components.seconds) + Double(room.components.attoseconds) / 1e18,
                        "loss reported \(earlyBy) s before the lease's expiry")
            }
            lockd.resume()
            #expect(bodyCancelled)
        }
    }

    @Test("waitUntilLost: true when an unrenewed lease runs out, false once released, CancellationError only when cancelled",
          arguments: StoreKind.allCases)
    func waitUntilLostContract(store: StoreKind) async throws {
        try await store.withLockd { lockd async throws in
            let locks = lockd.client()
            // The lease is due one TTL after its acquire was sent, so never before this plus the TTL.
            let start = ContinuousClock.now
            let expiring = try await locks.acquire(uniqueLockName(), ttl: .milliseconds(300), autoRenew: false)
            #expect(try await expiring.waitUntilLost())
            #expect(ContinuousClock.now - start >= .milliseconds(300))
            #expect(expiring.isLost)

            let released = try await locks.acquire(uniqueLockName(), ttl: .seconds(30))
            let watcher = Task { try await released.waitUntilLost() }
            try await released.release()
            #expect(try await watcher.value == false)
            #expect(!released.isLost)

            let held = try await locks.acquire(uniqueLockName(), ttl: .seconds(30))
            let cancelled = Task { try await held.waitUntilLost() }
            cancelled.cancel()
            await #expect(throws: CancellationError.self) { _ = try await cancelled.value }
            try await held.release()
        }
    }

    @Test("a normal release is never reported as a loss, even when it crosses a renewal on the wire")
    func releaseIsNeverLoss() async throws {
        try await StoreKind.redis.withLockdProcess { lockd, _ in
            let locks = lockd.client()
            // Renewals every second; releases at random moments, some just after one.
            // (That a renewal answered "lost" after a release began does not count is
            // LeaseStateTests' to show: on the wire the crossing is too rare to aim at.)
            let ttl = Duration.seconds(3)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<20 {
                    group.addTask {
                        let lease = try await locks.acquire(uniqueLockName("release-\(index)"), ttl: ttl)
                        let watcher = Task { try await lease.waitUntilLost() }
                        try await Task.sleep(for: .milliseconds(Int.random(in: 50...1300)))
                        try await lease.release()
                        #expect(try await watcher.value == false)
                        #expect(!lease.isLost)
                    }
                }
                try await group.waitForAll()
            }
            // withLock: the body returns, the lease is released, and no loss is reported.
            let watched = Mutex<Lease?>(nil)
            try await locks.withLock(uniqueLockName(), ttl: ttl) { lease in
                watched.withLock { $0 = lease }
                try await Task.sleep(for: ttl / 2)  // past one renewal
            }
            let lease = try #require(watched.withLock { $0 })
            #expect(try await lease.waitUntilLost() == false)
        }
    }
}
