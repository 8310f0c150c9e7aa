@testable import LockEngine
import LockdTestSupport
import Testing

/// An acquire that does not wait, whose every grant comes too late, is
/// answered "too slow" after its third: each grant is given back as it
/// comes, once — none is left behind and none is given back twice. A
/// waiting acquire whose grants come too late is answered so when its wait
/// is over, not tried again past it.
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

    /// The store grants a waiting acquire at once but answers only after
    /// the wait has ended (each stall is as long as the wait and begins
    /// after the engine set its deadline): the grant is too late, and the
    /// wait is over. The request is answered "too slow" (503: the lock was
    /// free, so not 409), with no attempt after its wait and its one grant
    /// given back, once.
    @Test(arguments: StoreKind.allCases)
    func aWaitingAcquireWhoseGrantComesTooLateAfterItsWaitIsNotTriedAgain(store: StoreKind) async throws {
        try await store.withEngine { _, inner in
            // Bounded, so that an engine that keeps trying is granted in the
            // end (and the test fails) rather than waiting for ever.
            let slow = StalledStore(inner, stalls: 4, stall: .milliseconds(500))
            try await slow.withEngine { engine in
                let name = try LockName(uniqueLockName())
                let answer = await expectUnavailable {
                    try await engine.acquire(AcquireRequest(name: name, ttlMs: 200, waitMs: 500))
                }
                #expect(slow.grantsSeen.count == 1, "the store was asked again after the wait had ended")
                guard answer else { return }
                #expect(slow.givenBack.load(ordering: .relaxed) == 1)
                #expect(try await inner.status(of: name).isHeld == false)
                let owed = engine.pendingUpkeep.withLock { $0.givenBack.map(\.token) }
                #expect(owed.isEmpty, "give-backs still owed: \(owed.count), for a grant already given back")
            }
        }
    }
}
