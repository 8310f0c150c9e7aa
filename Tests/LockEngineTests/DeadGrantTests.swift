import LockdTestSupport
import LockEngine
import Testing

/// A grant that arrives after most of its TTL has passed — lockd paused
/// between the store's answer and its own — is never handed out; one whose
/// reply was lost in an outage is handed out once, as new.
@Suite struct DeadGrantTests {
    @Test(arguments: StoreKind.allCases)
    func aLateGrantIsReleasedAndAFreshOneDelivered(store: StoreKind) async throws {
        try await store.withEngine { _, inner in
            let slow = StalledStore(inner, stalls: 1, stall: .milliseconds(1_000))
            try await slow.withEngine { engine in
                let name = try LockName(uniqueLockName())
                let grant = try await engine.acquire(AcquireRequest(name: name, ttlMs: 1_000))
                #expect(slow.grantsSeen.count >= 2)
                #expect(grant.lease.fence > slow.grantsSeen[0].fence)
            }
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aWaitersGrantWhoseReplyWasLostIsDeliveredAsNewNotAsARetry(store: StoreKind) async throws {
        try await store.withEngine { _, inner in
            let lossy = StalledStore(inner, stalls: 1, stall: .zero, thenFail: true)
            var configuration = LockEngineConfiguration()
            configuration.outageGrace = .milliseconds(200)
            try await lossy.withEngine(configuration: configuration) { engine in
                let name = try LockName(uniqueLockName())
                // No token of the client's: the lease found under the request's
                // own token on the next attempt is the first one's grant.
                let grant = try await engine.acquire(AcquireRequest(name: name, ttlMs: 30_000, waitMs: 5_000))
                #expect(!grant.isRetry)
                #expect(grant.lease.fence == lossy.grantsSeen[0].fence)
                #expect(try await inner.status(of: name).holders.map(\.fence) == [grant.lease.fence])
            }
        }
    }

    /// A grant that reaches a caller who has gone is given back; when the
    /// store cannot take it back just then, it is given back once it can —
    /// not left for its whole TTL.
    @Test(arguments: StoreKind.allCases)
    func aGrantForAGoneCallerIsGivenBackOnceTheStoreServesAgain(store: StoreKind) async throws {
        try await store.withEngine { _, inner in
            let slow = StalledStore(inner, stalls: 1, stall: .seconds(60), releaseFailures: 1)
            let name = try LockName(uniqueLockName())
            try await slow.withRunningEngine { engine in
                try await slow.hangUpOnceGranted(engine, AcquireRequest(name: name, ttlMs: 60_000))
                let freed = try await eventually(within: .seconds(10)) { try await inner.status(of: name).isHeld == false }
                #expect(freed, "the lease was left for its TTL")
            }
        }
    }

    /// A no-wait acquire's first grant came too late, and had expired, when
    /// its give-back failed (an outage: queued); its next attempt, under the
    /// same token lockd made, was granted a fresh lease and delivered it.
    /// The queued give-back is of the first grant: it must not end the
    /// lease the client holds.
    @Test(arguments: StoreKind.allCases)
    func aQueuedGiveBackSparesALaterLeaseUnderTheSameToken(store: StoreKind) async throws {
        try await store.withEngine { _, inner in
            // Stalled past its TTL after the store granted it.
            let late = StalledStore(inner, stalls: 1, stall: .milliseconds(1_300), releaseFailures: 1)
            try await late.withEngine { engine in
                let name = try LockName(uniqueLockName())
                let grant = try await engine.acquire(AcquireRequest(name: name, ttlMs: 1_000))
                #expect(late.grantsSeen.count == 2)
                #expect(grant.lease.fence > late.grantsSeen[0].fence, "the first grant was delivered after all")
                // The client keeps its lease: it renews it for a minute.
                let renewed = try await engine.renew(name, token: grant.lease.token, ttlMs: 60_000)
                #expect(renewed.fence == grant.lease.fence)
                // The upkeep then gives back what the first attempt queued.
                #expect(await late.upkeepGivesBack(engine))
                #expect(try await inner.status(of: name).holders.map(\.fence) == [grant.lease.fence],
                        "a queued give-back of an expired grant ended the later lease its token holds")
            }
        }
    }

    /// A no-wait acquire tries again under its own token when its grant
    /// came too late: a lease found there is that earlier attempt's (its
    /// give-back failed in an outage), new to the client, not a retry.
    @Test(arguments: StoreKind.allCases)
    func aLateGrantNotGivenBackIsDeliveredAsNewByTheNextAttempt(store: StoreKind) async throws {
        try await store.withEngine { _, inner in
            // Late past 90 % of the TTL; the lease it leaves is kept a minute
            // in the store, so the next attempt finds it whatever the load.
            let late = StalledStore(inner, stalls: 1, stall: .milliseconds(1_850), beforeAsking: true, releaseFailures: 1,
                                    leasesLastMs: 60_000)
            try await late.withEngine { engine in
                let name = try LockName(uniqueLockName())
                let grant = try await engine.acquire(AcquireRequest(name: name, ttlMs: 2_000))
                #expect(!grant.isRetry)
                #expect(grant.lease.fence == late.grantsSeen[0].fence)
            }
        }
    }

    /// The same, with every attempt late: the lease each one found under the
    /// request's token (claimed by asking again) is not the client's, so it
    /// must not outlive the 503 — though a give-back spares a claimed lease.
    @Test(arguments: StoreKind.allCases)
    func lateGrantsUnderTheRequestsOwnTokenLeaveNoLeaseBehind(store: StoreKind) async throws {
        try await store.withEngine { _, inner in
            let late = StalledStore(inner, stalls: 3, stall: .milliseconds(950), beforeAsking: true, releaseFailures: 1)
            try await late.withEngine { engine in
                let name = try LockName(uniqueLockName())
                guard await expectUnavailable({
                    try await engine.acquire(AcquireRequest(name: name, ttlMs: 1_000))
                }) else { return }
                // What the engine queued to give back reaches the store too.
                #expect(await late.upkeepGivesBack(engine))
                #expect(try await inner.status(of: name).isHeld == false, "a lease no client has was left for its TTL")
            }
        }
    }
}
