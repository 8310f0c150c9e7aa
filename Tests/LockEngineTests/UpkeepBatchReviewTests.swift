import LockdTestSupport
import LockEngine
import Synchronization
import Testing

/// Review (round 2, integ c7b5aac): the upkeep gives back and removes
/// strays up to the next beat only — but it checks the deadline between
/// batches and awaits each batch whole. A give-back goes on the request
/// connections (not the liveness one) and may take up to the Redis
/// client's timeout (500 ms, twice that while Redis answers others): the
/// beat waits for it, and with 100 ms between beats and a 600 ms liveness
/// window, this lockd's waiters count as gone.
@Suite(.serialized) struct UpkeepBatchReviewTests {
    @Test func theBeatGoesOnWhileAGiveBackHangsUpToTheStoresTimeout() async throws {
        try await StoreKind.redis.withEngine { _, inner in
            let store = HangingGiveBackStore(inner)
            try await store.withRunningEngine { engine in
                // A waiter of this lockd: the upkeep now beats every 100 ms.
                let name = try LockName(uniqueLockName())
                guard case .granted = try await inner.acquire(AcquireAttempt(name: name, token: .random(), ttlMs: 60_000, owner: "holder", waiter: nil))
                else { throw TestFailure("the holder was not granted") }
                let waiter = Task { try await engine.acquire(AcquireRequest(name: name, ttlMs: 60_000, waitMs: 30_000)) }
                let queued = await eventually { engine.waiterCount == 1 }
                #expect(queued)
                let beating = await eventually { store.beats.load(ordering: .relaxed) >= 2 }
                #expect(beating)

                // A no-wait acquire answered 503: its give-back is queued, and
                // the store hangs it as a stalled connection would.
                await #expect(throws: LockError.self) {
                    try await engine.acquire(AcquireRequest(name: try LockName(HangingGiveBackStore.lostPrefix + uniqueLockName()), ttlMs: 60_000))
                }
                let hangEnded = await eventually(within: .seconds(10)) { store.hangsEnded.load(ordering: .relaxed) >= 1 }
                #expect(hangEnded)
                let beats = store.beatsWhileHanging.load(ordering: .relaxed)
                #expect(beats >= HangingGiveBackStore.beatsWanted,
                        "\(beats) beats in the \(HangingGiveBackStore.longestHang) a give-back hung (one is due every 100 ms)")
                waiter.cancel()
                _ = try? await waiter.value
            }
        }
    }
}

/// Passes every call to a real store, except: an acquire of a name under
/// ``lostPrefix`` is answered unavailable (its reply lost), and a give-back
/// hangs until ``beatsWanted`` beats pass or ``longestHang`` (the Redis
/// client's two command timeouts), then fails as the timed-out call would.
final class HangingGiveBackStore: ForwardingLockStore {
    static let lostPrefix = "lost-"
    static let beatsWanted = 3
    static let longestHang: Duration = .seconds(1)
    let inner: any LockStore
    let beats = Atomic<Int>(0)
    let beatsWhileHanging = Atomic<Int>(0)
    let hangsEnded = Atomic<Int>(0)

    init(_ inner: any LockStore) {
        self.inner = inner
    }

    nonisolated(nonsending) func acquire(_ attempt: AcquireAttempt) async throws(LockError) -> AcquireResult {
        if attempt.name.value.hasPrefix(Self.lostPrefix) { throw .unavailable("the reply was lost") }
        return try await inner.acquire(attempt)
    }
    nonisolated(nonsending) func giveBack(_ name: LockName, token: LeaseToken, grant: GrantIdentity, evenIfClaimed: Bool) async throws(LockError) -> Bool {
        let start = beats.load(ordering: .relaxed)
        _ = await eventually(within: Self.longestHang) { self.beats.load(ordering: .relaxed) - start >= Self.beatsWanted }
        beatsWhileHanging.store(beats.load(ordering: .relaxed) - start, ordering: .relaxed)
        hangsEnded.add(1, ordering: .relaxed)
        throw .unavailable("Redis did not answer within the command timeout")
    }
    func beat(names: Set<LockName>) async throws(LockError) -> Bool {
        defer { beats.add(1, ordering: .relaxed) }
        return try await inner.beat(names: names)
    }
}
