import LockEngine
import LockdTestSupport
import Testing

/// review4 (for wip-sem12's fence by `SET … GET`): a release that hands the
/// name to a run of waiters at once (readers after a writer) grants them all
/// in one script, at one reading of the clock; each must still get its own
/// fence, strictly greater than every fence before it.
@Suite struct HandOffRunFenceReviewTests {
    @Test(arguments: StoreKind.allCases)
    func aRunOfReadersHandedTheNameTogetherGetsDistinctIncreasingFences(store: StoreKind) async throws {
        try await store.withEngine { engine, _ in
            let name = try LockName(uniqueLockName())
            let writer = try await engine.acquire(AcquireRequest(name: name, ttlMs: 60_000))
            var readers: [Task<AcquireGrant, any Error>] = []
            defer { for reader in readers { reader.cancel() } }
            for count in 1...4 {
                readers.append(Task { try await engine.acquireByWaiting(AcquireRequest(name: name, ttlMs: 60_000, waitMs: 30_000, mode: .shared)) })
                let queued = try await eventually { try await engine.status(of: name).waiting == count }
                #expect(queued)
            }
            try await engine.release(name, token: writer.lease.token)
            var fences: [Int64] = []
            for reader in readers { fences.append(try await reader.value.lease.fence) }
            #expect(Set(fences).count == fences.count, "a fence was issued twice: \(fences)")
            #expect(fences == fences.sorted(), "fences out of queue order: \(fences)")
            #expect(fences.allSatisfy { $0 > writer.lease.fence })
            let held = try await engine.status(of: name).holders.map(\.fence).sorted()
            #expect(held == fences.sorted(), "holders \(held)")
        }
    }
}
