import LockdClient
import LockdTestSupport
import Synchronization
import Testing

/// `withLock` keeps its body's value in storage of its own until it returns it:
/// the value is handed back, or dropped when `withLock` throws, exactly once.
@Suite("LockClient.withLock: the body's value, on every exit")
struct WithLockValueTests {
    /// Counts its own deinitializations.
    final class Tracked: Sendable {
        let counter: Counter
        let label: String
        init(_ label: String, ends counter: Counter) {
            self.label = label
            self.counter = counter
        }
        deinit { counter.ends.add(1, ordering: .relaxed) }
    }

    final class Counter: Sendable {
        let ends = Atomic<Int>(0)
    }

    private static func isLeaseLost(_ error: any Error) -> Bool {
        if case LockError.leaseLost = error { true } else { false }
    }

    @Test func aReturnedValueIsHandedBackAndEndsOnce() async throws {
        try await StoreKind.memory.withLockd { lockd in
            let counter = Counter()
            var value: Tracked? = try await lockd.client().withLock(uniqueLockName()) { _ in Tracked("kept", ends: counter) }
            #expect(value?.label == "kept")
            #expect(counter.ends.load(ordering: .relaxed) == 0)
            value = nil
            #expect(counter.ends.load(ordering: .relaxed) == 1)
        }
    }

    /// The lease gone when it is released: the value the body returned is dropped.
    @Test func aValueIsDroppedOnceWhenTheLeaseIsGoneAtRelease() async throws {
        try await StoreKind.memory.withLockd { lockd in
            let counter = Counter()
            let name = uniqueLockName()
            await #expect {
                _ = try await lockd.client().withLock(name) { lease in
                    try await lockd.deleteLease(name, token: lease.token)
                    return Tracked("gone at release", ends: counter)
                }
            } throws: { Self.isLeaseLost($0) }
            #expect(counter.ends.load(ordering: .relaxed) == 1)
        }
    }

    /// The lease lost while the body ran, and the body returned a value all the same.
    @Test func aValueIsDroppedOnceWhenTheLeaseWasLostWhileTheBodyRan() async throws {
        try await StoreKind.memory.withLockd { lockd in
            let counter = Counter()
            let name = uniqueLockName()
            await #expect {
                _ = try await lockd.client().withLock(name, ttl: .seconds(3)) { lease in
                    try await lockd.deleteLease(name, token: lease.token)
                    // The next renewal (within ~1 s) finds the lease gone.
                    _ = await timeUntil(within: .seconds(10)) { lease.isLost }
                    #expect(lease.isLost)
                    return Tracked("lost while running", ends: counter)
                }
            } throws: { Self.isLeaseLost($0) }
            #expect(counter.ends.load(ordering: .relaxed) == 1)
        }
    }

    @Test func aThrowingBodyLeavesNothingToEnd() async throws {
        struct BodyFailed: Error {}
        try await StoreKind.memory.withLockd { lockd in
            let counter = Counter()
            await #expect(throws: BodyFailed.self) {
                _ = try await lockd.client().withLock(uniqueLockName()) { _ -> Tracked in
                    _ = Tracked("made and dropped in the body", ends: counter)
                    throw BodyFailed()
                }
            }
            #expect(counter.ends.load(ordering: .relaxed) == 1)
        }
    }
}
