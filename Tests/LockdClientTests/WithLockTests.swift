import LockdTestSupport
import Foundation
import LockdClient
import Testing

@Suite("LockClient.withLock: renewal, release on every exit")
struct WithLockTests {
    @Test("releases when the body throws, and rethrows the body's error", arguments: StoreKind.allCases)
    func releasesOnThrow(store: StoreKind) async throws {
        struct BodyFailed: Error {}
        try await store.withLockd { lockd async throws in
            let name = uniqueLockName()
            let locks = lockd.client()
            await #expect(throws: BodyFailed.self) {
                try await locks.withLock(name, ttl: .seconds(30)) { _ in throw BodyFailed() }
            }
            #expect(try await locks.status(name).isHeld == false)
        }
    }

    @Test("releases when its task is cancelled", arguments: StoreKind.allCases)
    func releasesOnCancellation(store: StoreKind) async throws {
        try await store.withLockd { lockd async throws in
            let name = uniqueLockName()
            let locks = lockd.client()
            let task = Task {
                try await locks.withLock(name, ttl: .seconds(30)) { _ in
                    try await Task.sleep(for: .seconds(60))
                }
            }
            // Wait until the lock is really held before cancelling.
            let held = try await timeUntil(within: .seconds(5)) { try await locks.status(name).isHeld }
            #expect(held != nil)
            task.cancel()
            await #expect(throws: CancellationError.self) { try await task.value }
            #expect(try await locks.status(name).isHeld == false)
        }
    }

    @Test("returns the body's value and passes the same lease the lock holds", arguments: StoreKind.allCases)
    func returnsValue(store: StoreKind) async throws {
        try await store.withLockd { lockd async throws in
            let name = uniqueLockName()
            let locks = lockd.client(owner: "with-lock")
            let (value, fence) = try await locks.withLock(name, ttl: .seconds(30)) { lease in
                let status = try await locks.status(name)
                return ("done", status.holders.first?.fence == lease.fence ? lease.fence : -1)
            }
            #expect(value == "done")
            #expect(fence >= 1)
        }
    }

    @Test("throws held when the lock stays taken for the whole wait", arguments: StoreKind.allCases)
    func heldForWholeWait(store: StoreKind) async throws {
        try await store.withLockd { lockd async throws in
            let name = uniqueLockName()
            let holder = try await lockd.client().acquire(name, ttl: .seconds(30))
            var ran = false
            await #expect { try await lockd.client().withLock(name, wait: .milliseconds(200)) { _ in ran = true } } throws: { error in
                if case LockError.held = error { true } else { false }
            }
            #expect(!ran)
            try await holder.release()
        }
    }
}
