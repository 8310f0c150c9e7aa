import LockdTestSupport
import LockEngine
import Testing

/// The lease contract of PRODUCT.md, run against every store.
@Suite struct LeaseSemanticsTests {
    @Test(arguments: StoreKind.allCases)
    func acquireGrantsAFreeLockAndRefusesASecondHolder(store: StoreKind) async throws {
        try await store.withEngine { engine, _ in
            let name = try LockName(uniqueLockName())
            let grant = try await engine.acquire(AcquireRequest(name: name, ttlMs: 5_000, owner: "worker-1"))
            #expect(!grant.isRetry)
            #expect(grant.lease.fence >= 1)
            #expect(grant.lease.fence < 1 << 53)
            #expect(grant.lease.ttlMs == 5_000)
            #expect(grant.lease.owner == "worker-1")
            #expect(grant.lease.token.value.count >= 22)

            let error = await #expect(throws: LockError.self) {
                try await engine.acquire(AcquireRequest(name: name, ttlMs: 5_000))
            }
            guard case .lockHeld(let holders, let retryAfterMs) = error else {
                Issue.record("expected lockHeld, got \(String(describing: error))")
                return
            }
            #expect(holders.count == 1)
            #expect(holders.first?.fence == grant.lease.fence)
            #expect(holders.first?.owner == "worker-1")
            #expect((1...5_000).contains(retryAfterMs))
        }
    }

    @Test(arguments: StoreKind.allCases)
    func acquireWithTheHoldingTokenIsARetryWithTheSameFence(store: StoreKind) async throws {
        try await store.withEngine { engine, _ in
            let name = try LockName(uniqueLockName())
            let token = try LeaseToken("client-chosen-token-0123456789")
            // Granted for a minute: a lease of 1 s could expire before the
            // retry on a busy machine, which would then be a new grant.
            let first = try await engine.acquire(AcquireRequest(name: name, ttlMs: 60_000, token: token))
            let retry = try await engine.acquire(AcquireRequest(name: name, ttlMs: 9_000, token: token))
            #expect(!first.isRetry)
            #expect(retry.isRetry)
            #expect(retry.lease.fence == first.lease.fence)
            #expect(retry.lease.ttlMs == 9_000)
            #expect(retry.lease.token == token)
            // The retry set the TTL anew (down from a minute).
            let remaining = try await engine.status(of: name).holders.first?.remainingMs ?? 0
            #expect(remaining > 0 && remaining <= 9_000, "\(remaining) ms left")
        }
    }

    @Test(arguments: StoreKind.allCases)
    func releaseNeedsTheHoldingToken(store: StoreKind) async throws {
        try await store.withEngine { engine, _ in
            let name = try LockName(uniqueLockName())
            let grant = try await engine.acquire(AcquireRequest(name: name, ttlMs: 5_000))
            await #expect(throws: LockError.leaseLost) {
                try await engine.release(name, token: LeaseToken.random())
            }
            try await engine.release(name, token: grant.lease.token)
            await #expect(throws: LockError.leaseLost) {
                try await engine.release(name, token: grant.lease.token)
            }
            #expect(try await engine.status(of: name).isHeld == false)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func renewExtendsOnlyALiveLeaseOfItsHolder(store: StoreKind) async throws {
        try await store.withEngine { engine, _ in
            let name = try LockName(uniqueLockName())
            let grant = try await engine.acquire(AcquireRequest(name: name, ttlMs: 2_000))
            let renewed = try await engine.renew(name, token: grant.lease.token, ttlMs: 5_000)
            #expect(renewed.fence == grant.lease.fence)
            #expect(renewed.token == grant.lease.token)
            #expect(renewed.ttlMs == 5_000)
            let kept = try await engine.renew(name, token: grant.lease.token, ttlMs: nil)
            #expect(kept.ttlMs == 5_000)
            await #expect(throws: LockError.leaseLost) {
                try await engine.renew(name, token: LeaseToken.random(), ttlMs: nil)
            }
            await #expect(throws: LockError.self) {
                try await engine.renew(name, token: grant.lease.token, ttlMs: 5)
            }
        }
    }

    @Test(arguments: StoreKind.allCases)
    func anExpiredLeaseFreesTheLockAndCannotBeRenewed(store: StoreKind) async throws {
        try await store.withEngine { engine, _ in
            let name = try LockName(uniqueLockName())
            // Granted for a minute and renewed down to 100 ms: a grant of
            // 500 ms must reach the engine within 450 ms, which a busy
            // machine can miss three times running (503 "too slow").
            let first = try await engine.acquire(AcquireRequest(name: name, ttlMs: 60_000))
            _ = try await engine.renew(name, token: first.lease.token, ttlMs: 100)
            let expired = try await eventually { try await engine.status(of: name).isHeld == false }
            #expect(expired)
            await #expect(throws: LockError.leaseLost) {
                try await engine.renew(name, token: first.lease.token, ttlMs: 5_000)
            }
            let second = try await engine.acquire(AcquireRequest(name: name, ttlMs: 5_000))
            #expect(second.lease.fence > first.lease.fence)
            await #expect(throws: LockError.leaseLost) {
                try await engine.release(name, token: first.lease.token)
            }
        }
    }

    @Test(arguments: StoreKind.allCases)
    func fencesStrictlyIncreaseOverAThousandCycles(store: StoreKind) async throws {
        try await store.withEngine { engine, _ in
            let name = try LockName(uniqueLockName())
            var last: Int64 = 0
            for _ in 0..<1_000 {
                let grant = try await engine.acquire(AcquireRequest(name: name, ttlMs: 5_000))
                #expect(grant.lease.fence > last)
                last = grant.lease.fence
                try await engine.release(name, token: grant.lease.token)
            }
        }
    }

    @Test(arguments: StoreKind.allCases)
    func statusShowsHoldersWithoutTokens(store: StoreKind) async throws {
        try await store.withEngine { engine, _ in
            let name = try LockName(uniqueLockName())
            let free = try await engine.status(of: name)
            #expect(free.holders.isEmpty)
            let grant = try await engine.acquire(AcquireRequest(name: name, ttlMs: 5_000, owner: "billing-7"))
            let held = try await engine.status(of: name)
            #expect(held.holders == [Holder(owner: "billing-7", fence: grant.lease.fence,
                                            expiresAtMs: held.holders.first?.expiresAtMs ?? 0,
                                            remainingMs: held.holders.first?.remainingMs ?? 0)])
            #expect((held.holders.first?.expiresAtMs ?? 0) >= grant.lease.expiresAtMs - 5)
            #expect((1...5_000).contains(held.holders.first?.remainingMs ?? 0))
        }
    }

    @Test(arguments: StoreKind.allCases)
    func listPagesThroughHeldLocksWithAPrefix(store: StoreKind) async throws {
        try await store.withEngine { engine, _ in
            let prefix = "list:\(WaiterID.random()):"
            var expected: [String] = []
            for index in 0..<7 {
                let name = try LockName("\(prefix)\(index)")
                _ = try await engine.acquire(AcquireRequest(name: name, ttlMs: 5_000))
                expected.append(name.value)
            }
            let released = try LockName("\(prefix)released")
            let grant = try await engine.acquire(AcquireRequest(name: released, ttlMs: 5_000))
            try await engine.release(released, token: grant.lease.token)
            _ = try await engine.acquire(AcquireRequest(name: LockName("other:\(WaiterID.random())"), ttlMs: 5_000))

            var seen: [String] = []
            var cursor: String?
            var pages = 0
            repeat {
                let page = try await engine.list(prefix: prefix, limit: 3, cursor: cursor)
                #expect(page.locks.count <= 3)
                #expect(page.locks.allSatisfy { $0.isHeld })
                seen += page.locks.map(\.name.value)
                cursor = page.nextCursor
                pages += 1
            } while cursor != nil && pages < 20
            #expect(Set(seen) == Set(expected))
            #expect(seen.count == expected.count)
            await #expect(throws: LockError.self) {
                try await engine.list(prefix: prefix, limit: 3, cursor: "garbage")
            }
        }
    }

    @Test(arguments: StoreKind.allCases)
    func outOfRangeRequestsAreRefusedWithWhatToFix(store: StoreKind) async throws {
        try await store.withEngine { engine, _ in
            let name = try LockName(uniqueLockName())
            let cases: [(AcquireRequest, String)] = [
                (AcquireRequest(name: name, ttlMs: 99), "ttl_ms"),
                (AcquireRequest(name: name, ttlMs: 86_400_001), "ttl_ms"),
                (AcquireRequest(name: name, ttlMs: 1_000, waitMs: 60_001), "wait_ms"),
                (AcquireRequest(name: name, ttlMs: 1_000, waitMs: -1), "wait_ms"),
                (AcquireRequest(name: name, ttlMs: 1_000, owner: String(repeating: "x", count: 257)), "owner"),
            ]
            for (request, field) in cases {
                let error = await #expect(throws: LockError.self) { try await engine.acquire(request) }
                guard case .invalidRequest(let detail) = error else {
                    Issue.record("expected invalidRequest for \(field)")
                    continue
                }
                #expect(detail.contains(field))
            }
        }
    }
}
