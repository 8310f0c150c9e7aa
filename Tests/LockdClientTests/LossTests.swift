import LockdTestSupport
import Foundation
import LockdClient
import Testing

@Suite("Lease loss: detected within one renewal interval")
struct LossTests {
    @Test("a lease deleted behind withLock's back is lost at the next renewal", arguments: StoreKind.allCases)
    func deletedBehindTheBack(store: StoreKind) async throws {
        try await store.withLockd { lockd async throws in
            let name = uniqueLockName()
            let ttl = Duration.seconds(6)  // renewals every ~2 s
            let locks = lockd.client()
            await #expect { 
                try await locks.withLock(name, ttl: ttl) { lease in
                    try await lockd.deleteLease(name, token: lease.token)
                    let deletedAt = ContinuousClock.now
                    try await lease.waitUntilLost()
                    let detectedAfter = ContinuousClock.now - deletedAt
                    #expect(lease.isLost)
                    // One renewal interval (ttl / 3), plus room for a busy machine; and
                    // well before the TTL, so it was the renewal that found out.
                    #expect(detectedAfter < ttl / 3 + .seconds(2), "loss detected after \(detectedAfter)")
                }
            } throws: { error in
                // The body returned, but the lease was lost while it ran.
                if case LockError.leaseLost = error { true } else { false }
            }
        }
    }

    @Test("a lease is lost when lockd is paused past its TTL", arguments: StoreKind.allCases)
    func lockdPaused(store: StoreKind) async throws {
        try await store.withLockdProcess { lockd, _ in
            let locks = LockClient(serverURL: lockd.url, timeout: .seconds(10))
            let name = uniqueLockName()
            let ttl = Duration.milliseconds(4500)  // renewals every ~1.5 s
            var lossSeen = false
            do {
                try await locks.withLock(name, ttl: ttl) { lease in
                    try await Task.sleep(for: ttl)  // a renewal or two go through first
                    #expect(!lease.isLost)
                    lockd.pause()
                    let pausedAt = ContinuousClock.now
                    try await lease.waitUntilLost()
                    let detectedAfter = ContinuousClock.now - pausedAt
                    lockd.resume()
                    // The deadline is at most one TTL after the last renewal was sent, which
                    // was before the pause: loss is known within a TTL, plus one renewal
                    // interval of room for a busy machine.
                    #expect(detectedAfter < ttl + ttl / 3, "loss detected after \(detectedAfter)")
                    #expect(detectedAfter > ttl / 3, "loss reported before the lease could have expired")
                    lossSeen = lease.isLost
                }
                Issue.record("withLock returned normally although the lease was lost")
            } catch LockError.leaseLost {
                // What withLock says when its body ran past a lost lease.
            }
            #expect(lossSeen)
        }
    }

    @Test("waitUntilLost returns when an unrenewed lease runs out, and throws once released", arguments: StoreKind.allCases)
    func waitUntilLostManual(store: StoreKind) async throws {
        try await store.withLockd { lockd async throws in
            let locks = lockd.client()
            // The lease is due one TTL after its acquire was sent, so never before this plus the TTL.
            let start = ContinuousClock.now
            let expiring = try await locks.acquire(uniqueLockName(), ttl: .milliseconds(300))
            try await expiring.waitUntilLost()
            #expect(ContinuousClock.now - start >= .milliseconds(300))
            #expect(expiring.isLost)

            let released = try await locks.acquire(uniqueLockName(), ttl: .seconds(30))
            let waiting = Task { try await released.waitUntilLost() }
            try await Task.sleep(for: .milliseconds(100))
            try await released.release()
            await #expect(throws: CancellationError.self) { try await waiting.value }
            #expect(!released.isLost)
        }
    }
}
