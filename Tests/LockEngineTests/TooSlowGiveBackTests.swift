@testable import LockEngine
import LockdTestSupport
import Testing

/// An acquire that does not wait, whose every grant comes too late, is
/// answered "too slow" after its third: each grant is given back as it
/// comes, once — none is left behind and none is given back twice.
@Suite struct TooSlowGiveBackTests {
    @Test(arguments: StoreKind.allCases)
    func eachTooLateGrantIsGivenBackOnceAndNothingMoreIsOwed(store: StoreKind) async throws {
        try await store.withEngine { _, inner in
            let slow = StalledStore(inner, stalls: .max, stall: .milliseconds(250))
            try await slow.withEngine { engine in
                let name = try LockName(uniqueLockName())
                guard await expectUnavailable({
                    try await engine.acquire(AcquireRequest(name: name, ttlMs: 200))
                }) else { return }
                // Each too-late grant was given back before the next attempt
                // (and before the answer): the store saw one give-back each.
                #expect(slow.grantsSeen.count == 3)
                #expect(slow.givenBack.load(ordering: .relaxed) == 3)
                #expect(try await inner.status(of: name).isHeld == false)
                // Nothing is owed to the store: a give-back left for the
                // clean-up task would be a fourth call for a lease already gone.
                let owed = engine.pendingUpkeep.withLock { $0.givenBack.map(\.token) }
                #expect(owed.isEmpty, "give-backs still owed: \(owed.count), for tokens already given back")
            }
        }
    }
}
