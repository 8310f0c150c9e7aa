import LockdTestSupport
import LockEngine
import LockdTransport
import Testing

/// lockd gives back a grant its caller never received (the caller hung up,
/// or the grant came too late) — but never a lease a client has taken up
/// since by retrying its acquire with the same token (retry-safe acquire):
/// that client holds it.
@Suite struct GiveBackTests {
    @Test(arguments: StoreKind.allCases, [1, 3])
    func aGiveBackEndsAnUnclaimedGrantButNotOneAClientRetriedInto(store: StoreKind, limit: Int) async throws {
        try await store.withEngine { _, inner in
            let name = try LockName(uniqueLockName())
            let unclaimed = AcquireAttempt(name: name, token: .random(), ttlMs: 60_000, owner: "gone", waiter: nil, limit: limit)
            guard case .granted(let gone, _, _) = try await inner.acquire(unclaimed) else { throw LockError.leaseLost }
            #expect(try await inner.giveBack(name, token: unclaimed.token, grant: .fence(gone.fence), evenIfClaimed: false))
            #expect(try await inner.status(of: name).holders.isEmpty)

            let claimed = AcquireAttempt(name: name, token: .random(), ttlMs: 60_000, owner: "retried", waiter: nil, limit: limit)
            guard case .granted(let lease, false, _) = try await inner.acquire(claimed),
                  case .granted(let again, true, _) = try await inner.acquire(claimed)
            else { throw LockError.leaseLost }
            #expect(again.fence == lease.fence)
            #expect(try await !inner.giveBack(name, token: claimed.token, grant: .fence(lease.fence), evenIfClaimed: false))
            #expect(try await !inner.giveBack(name, token: claimed.token, grant: .any, evenIfClaimed: false))
            #expect(try await inner.status(of: name).holders.map(\.fence) == [lease.fence])
            // Its client releases it as usual.
            #expect(try await inner.release(name, token: claimed.token))
        }
    }

    /// A give-back names the grant's fence: a later lease under the same
    /// token (the grant ended, the token was granted again) is another
    /// grant, which its client may hold, and stays. The grant it names ends,
    /// and — asked to, for a token only lockd knew — even once claimed.
    @Test(arguments: StoreKind.allCases, [1, 3])
    func aGiveBackEndsOnlyTheGrantItsFenceNames(store: StoreKind, limit: Int) async throws {
        try await store.withEngine { _, inner in try await Self.onlyTheNamedGrantEnds(inner, limit: limit) }
    }

    /// ``aGiveBackEndsOnlyTheGrantItsFenceNames(store:limit:)`` on `inner`
    /// (also run by the Redis Functions and Cluster tests: each variant
    /// of the release script).
    static func onlyTheNamedGrantEnds(_ inner: any LockStore, limit: Int) async throws {
        let name = try LockName(uniqueLockName())
        let attempt = AcquireAttempt(name: name, token: .random(), ttlMs: 60_000, owner: "twice", waiter: nil, limit: limit)
        guard case .granted(let first, false, _) = try await inner.acquire(attempt) else { throw LockError.leaseLost }
        #expect(try await inner.release(name, token: attempt.token))
        guard case .granted(let later, false, _) = try await inner.acquire(attempt) else { throw LockError.leaseLost }
        #expect(later.fence > first.fence)
        #expect(try await !inner.giveBack(name, token: attempt.token, grant: .fence(first.fence), evenIfClaimed: false))
        #expect(try await !inner.giveBack(name, token: attempt.token, grant: .fence(first.fence), evenIfClaimed: true))
        #expect(try await inner.status(of: name).holders.map(\.fence) == [later.fence])

        // Claimed by asking again: spared, unless asked to end it even so.
        guard case .granted(_, true, _) = try await inner.acquire(attempt) else { throw LockError.leaseLost }
        #expect(try await !inner.giveBack(name, token: attempt.token, grant: .fence(later.fence), evenIfClaimed: false))
        #expect(try await inner.giveBack(name, token: attempt.token, grant: .fence(later.fence), evenIfClaimed: true))
        #expect(try await inner.status(of: name).holders.isEmpty)
    }

    /// A give-back whose grant's reply never came names the attempt's
    /// nonce: under a client's token it ends only what that attempt was
    /// granted.
    @Test(arguments: StoreKind.allCases, [1, 3])
    func aGiveBackEndsOnlyTheGrantItsAttemptWasGranted(store: StoreKind, limit: Int) async throws {
        try await store.withEngine { _, inner in try await Self.onlyTheAttemptsGrantEnds(inner, limit: limit) }
    }

    /// ``aGiveBackEndsOnlyTheGrantItsAttemptWasGranted(store:limit:)`` on
    /// `inner` (also run by the Redis Functions and Cluster tests).
    static func onlyTheAttemptsGrantEnds(_ inner: any LockStore, limit: Int) async throws {
        let name = try LockName(uniqueLockName())
        let token = LeaseToken.random()
        func attempt() -> AcquireAttempt {
            var attempt = AcquireAttempt(name: name, token: token, ttlMs: 60_000, owner: "client", waiter: nil, limit: limit)
            attempt.nonce = .random()
            return attempt
        }
        let first = attempt()
        guard case .granted(let held, false, _) = try await inner.acquire(first), let granted = first.nonce else { throw LockError.leaseLost }
        // A retry that never reached the store was granted nothing: the lease is the client's.
        #expect(try await !inner.giveBack(name, token: token, grant: .attempt(.random()), evenIfClaimed: false))
        #expect(try await inner.status(of: name).holders.map(\.fence) == [held.fence])
        // The attempt that was granted it names it.
        #expect(try await inner.giveBack(name, token: token, grant: .attempt(granted), evenIfClaimed: false))
        #expect(try await inner.status(of: name).holders.isEmpty)

        // A grant a client has claimed since (by asking again) stays.
        let fresh = attempt()
        guard case .granted(let lease, false, _) = try await inner.acquire(fresh), let freshNonce = fresh.nonce,
              case .granted(let again, true, _) = try await inner.acquire(attempt())
        else { throw LockError.leaseLost }
        #expect(again.fence == lease.fence)
        #expect(try await !inner.giveBack(name, token: token, grant: .attempt(freshNonce), evenIfClaimed: false))
        #expect(try await inner.status(of: name).holders.map(\.fence) == [lease.fence])
        #expect(try await inner.release(name, token: token))
    }

    @Test(arguments: StoreKind.allCases)
    func aRetriedLeaseIsNotGivenBackUnderItsClient(store: StoreKind) async throws {
        try await store.withEngine { _, inner in
            // The first grant stalls (lockd paused, the client hangs up);
            // the store then fails give-backs for a while (an outage).
            let slow = StalledStore(inner, stalls: 1, stall: .seconds(60), releaseFailures: 20)
            let name = try LockName(uniqueLockName())
            let request = AcquireRequest(name: name, ttlMs: 60_000, token: .random())
            try await slow.withRunningEngine { engine in
                try await slow.hangUpOnceGranted(engine, request)
                // The client's response was lost: it retries with its token,
                // as the product tells it to, and is answered with the lease.
                let retried = try await engine.acquire(request)
                #expect(retried.isRetry)
                // The deferred give-back reaches the store once the outage
                // ends, and leaves the lease to the client that holds it.
                let gaveBack = await eventually(within: .seconds(30)) { slow.givenBack.load(ordering: .relaxed) > 0 }
                #expect(gaveBack)
                #expect(try await inner.status(of: name).holders.map(\.fence) == [retried.lease.fence])
            }
        }
    }

    /// A no-wait acquire under the client's own token whose reply was lost
    /// (the store ran it, lockd answered 503) gives nothing back: the
    /// client holds the lease (this retry only renewed it) and can release
    /// it itself. Only a token lockd made goes back after a 503.
    @Test(arguments: StoreKind.allCases)
    func aLostReplyUnderTheClientsTokenGivesNothingBack(store: StoreKind) async throws {
        try await store.withEngine { _, inner in
            // Its first three grants run in the store, then are reported lost.
            let lossy = StalledStore(inner, stalls: 3, stall: .zero, thenFail: true)
            let name = try LockName(uniqueLockName())
            let token = LeaseToken.random()
            guard case .granted(let held, false, _) = try await inner.acquire(
                AcquireAttempt(name: name, token: token, ttlMs: 60_000, owner: "client", waiter: nil))
            else { throw LockError.leaseLost }
            try await lossy.withRunningEngine { engine in
                guard await expectUnavailable({ try await engine.acquire(AcquireRequest(name: name, ttlMs: 60_000, token: token)) })
                else { return }
                // Two 503s under tokens lockd made, the second sent once the
                // first's give-back has ended its lease: the upkeep gives back
                // oldest first, a batch at a time, so by the time the second's
                // has, any give-back queued before the first's has ended too.
                for _ in 0..<2 {
                    let marker = try LockName(uniqueLockName())
                    guard await expectUnavailable({ try await engine.acquire(AcquireRequest(name: marker, ttlMs: 60_000)) })
                    else { return }
                    let freed = try await eventually(within: .seconds(10)) { try await inner.status(of: marker).isHeld == false }
                    try #require(freed, "lockd's own token was not given back")
                }
                #expect(try await inner.status(of: name).holders.map(\.fence) == [held.fence],
                        "the client's lease was given back after a 503")
            }
        }
    }
}
