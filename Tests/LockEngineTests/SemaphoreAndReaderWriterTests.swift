import LockdTestSupport
import LockEngine
import Synchronization
import Testing

/// Semaphores (`limit` > 1) and reader-writer locks (`mode: .shared`) on
/// every store: admission, the one fair queue, fences, retries, cancellation.
@Suite struct SemaphoreAndReaderWriterTests {
    private static func request(
        _ name: LockName, ttlMs: Int64 = 30_000, waitMs: Int64 = 0, owner: String? = nil, token: LeaseToken? = nil,
        limit: Int = 1, mode: LockMode = .exclusive
    ) -> AcquireRequest {
        AcquireRequest(name: name, ttlMs: ttlMs, waitMs: waitMs, owner: owner, token: token, limit: limit, mode: mode)
    }

    /// Starts a waiting acquire and returns once the store has queued it.
    private static func enqueue(
        _ engine: LockEngine, _ request: AcquireRequest, granted: Granted
    ) async throws -> Task<AcquireGrant, any Error> {
        let before = try await engine.status(of: request.name).waiting
        let task = Task {
            let grant = try await engine.acquire(request)
            granted.append(grant)
            return grant
        }
        let queued = try await eventually { try await engine.status(of: request.name).waiting == before + 1 }
        #expect(queued)
        return task
    }

    private static func expectHeld(_ engine: LockEngine, _ request: AcquireRequest) async -> [Holder] {
        do {
            let grant = try await engine.acquire(request)
            Issue.record("expected lockHeld, got a lease with fence \(grant.lease.fence)")
        } catch {
            if case .lockHeld(let holders, _) = error { return holders }
            Issue.record("expected lockHeld, got \(error)")
        }
        return []
    }

    @Test(arguments: StoreKind.allCases)
    func aSemaphoreAdmitsItsLimitAndRefusesTheNext(store: StoreKind) async throws {
        try await store.withEngine { engine, _ in
            let name = try LockName(uniqueLockName())
            var grants: [AcquireGrant] = []
            for index in 0..<3 { grants.append(try await engine.acquire(Self.request(name, owner: "\(index)", limit: 3))) }
            #expect(Set(grants.map(\.lease.token)).count == 3)
            #expect(grants.map(\.lease.fence) == grants.map(\.lease.fence).sorted())
            #expect(Set(grants.map(\.lease.fence)).count == 3)
            #expect(grants.allSatisfy { $0.lease.limit == 3 && $0.lease.mode == .exclusive })
            let holders = await Self.expectHeld(engine, Self.request(name, limit: 3))
            #expect(Set(holders.map(\.fence)) == Set(grants.map(\.lease.fence)))
            let status = try await engine.status(of: name)
            #expect(status.limit == 3)
            #expect(status.holders.count == 3)
            #expect(status.mode == .exclusive)
            #expect(status.waiting == 0)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func releasesWakeTheWaitersThatFitInArrivalOrder(store: StoreKind) async throws {
        try await store.withEngine { engine, _ in
            let name = try LockName(uniqueLockName())
            var holders: [AcquireGrant] = []
            for _ in 0..<3 { holders.append(try await engine.acquire(Self.request(name, limit: 3))) }
            let granted = Granted()
            var waiters: [Task<AcquireGrant, any Error>] = []
            for index in 0..<4 {
                waiters.append(try await Self.enqueue(engine, Self.request(name, waitMs: 20_000, owner: "\(index)", limit: 3), granted: granted))
            }
            try await engine.release(name, token: holders[0].lease.token)
            try await engine.release(name, token: holders[1].lease.token)
            // The first two in line take the two slots (woken together, they
            // may finish in either order).
            let firstTwoGranted = await eventually { Set(granted.owners) == ["0", "1"] }
            #expect(firstTwoGranted)
            var status = try await engine.status(of: name)
            #expect(status.holders.count == 3)
            #expect(status.waiting == 2)
            // One more slot: the next in line, not the last.
            try await engine.release(name, token: holders[2].lease.token)
            let thirdGranted = await eventually { Set(granted.owners) == ["0", "1", "2"] }
            #expect(thirdGranted)
            status = try await engine.status(of: name)
            #expect(status.waiting == 1)
            let fences = try await waiters[0..<3].asyncMap { try await $0.value.lease.fence }
            #expect(fences.allSatisfy { $0 > holders[2].lease.fence })
            waiters[3].cancel()
            let drained = try await eventually { try await engine.status(of: name).waiting == 0 }
            #expect(drained)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func anotherLimitIsRefusedWhileTheNameIsInUse(store: StoreKind) async throws {
        try await store.withEngine { engine, _ in
            let name = try LockName(uniqueLockName())
            let grant = try await engine.acquire(Self.request(name, limit: 3))
            for other in [Self.request(name, limit: 2), Self.request(name), Self.request(name, mode: .shared)] {
                await #expect(throws: LockError.limitMismatch(limit: 3)) { try await engine.acquire(other) }
            }
            try await engine.release(name, token: grant.lease.token)
            // Free again: the next acquire sets the limit.
            let lock = try await engine.acquire(Self.request(name))
            await #expect(throws: LockError.limitMismatch(limit: 1)) {
                try await engine.acquire(Self.request(name, waitMs: 5_000, limit: 5))
            }
            // Waiting alone keeps the limit too.
            let granted = Granted()
            let waiter = try await Self.enqueue(engine, Self.request(name, waitMs: 20_000), granted: granted)
            try await engine.release(name, token: lock.lease.token)
            let next = try await waiter.value
            #expect(next.lease.limit == 1)
            await #expect(throws: LockError.invalidRequest("mode shared takes no limit above 1: a reader-writer lock is not a semaphore")) {
                try await engine.acquire(Self.request(name, limit: 2, mode: .shared))
            }
            await #expect(throws: LockError.self) { try await engine.acquire(Self.request(name, limit: 1_001)) }
        }
    }

    @Test(arguments: StoreKind.allCases)
    func readersShareAndAWriterHoldsAlone(store: StoreKind) async throws {
        try await store.withEngine { engine, _ in
            let name = try LockName(uniqueLockName())
            var readers: [AcquireGrant] = []
            for _ in 0..<3 { readers.append(try await engine.acquire(Self.request(name, mode: .shared))) }
            #expect(readers.allSatisfy { $0.lease.mode == .shared && $0.lease.limit == 1 })
            var status = try await engine.status(of: name)
            #expect(status.mode == .shared)
            #expect(status.holders.count == 3)
            #expect(status.holders.allSatisfy { $0.mode == .shared })
            #expect(await Self.expectHeld(engine, Self.request(name)).count == 3)
            for reader in readers { try await engine.release(name, token: reader.lease.token) }
            let writer = try await engine.acquire(Self.request(name))
            let holders = await Self.expectHeld(engine, Self.request(name, mode: .shared))
            #expect(holders.map(\.mode) == [.exclusive])
            #expect(holders.map(\.fence) == [writer.lease.fence])
            status = try await engine.status(of: name)
            #expect(status.mode == .exclusive)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aWaitingWriterIsNotPassedByNewReaders(store: StoreKind) async throws {
        try await store.withEngine { engine, _ in
            let name = try LockName(uniqueLockName())
            let reader = try await engine.acquire(Self.request(name, mode: .shared))
            let granted = Granted()
            let writer = try await Self.enqueue(engine, Self.request(name, waitMs: 20_000, owner: "writer"), granted: granted)
            // It would fit beside the reader, but the writer came first.
            _ = await Self.expectHeld(engine, Self.request(name, mode: .shared))
            let late = try await Self.enqueue(engine, Self.request(name, waitMs: 20_000, owner: "late", mode: .shared), granted: granted)
            try await engine.release(name, token: reader.lease.token)
            let write = try await writer.value
            #expect(write.lease.fence > reader.lease.fence)
            #expect(granted.owners == ["writer"])
            try await engine.release(name, token: write.lease.token)
            #expect(try await late.value.lease.fence > write.lease.fence)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func theReadersQueuedBehindAWriterAreGrantedTogether(store: StoreKind) async throws {
        try await store.withEngine { engine, _ in
            let name = try LockName(uniqueLockName())
            let writer = try await engine.acquire(Self.request(name))
            let granted = Granted()
            var readers: [Task<AcquireGrant, any Error>] = []
            for index in 0..<3 {
                readers.append(try await Self.enqueue(engine, Self.request(name, waitMs: 20_000, owner: "r\(index)", mode: .shared), granted: granted))
            }
            let secondWriter = try await Self.enqueue(engine, Self.request(name, waitMs: 20_000, owner: "w2"), granted: granted)
            let lateReader = try await Self.enqueue(engine, Self.request(name, waitMs: 20_000, owner: "r3", mode: .shared), granted: granted)
            try await engine.release(name, token: writer.lease.token)
            let readersGranted = await eventually { Set(granted.owners) == ["r0", "r1", "r2"] }
            #expect(readersGranted)
            let status = try await engine.status(of: name)
            #expect(status.holders.count == 3)
            #expect(status.mode == .shared)
            #expect(status.waiting == 2)
            for reader in readers { try await engine.release(name, token: try await reader.value.lease.token) }
            let second = try await secondWriter.value
            #expect(granted.owners.count == 4)
            try await engine.release(name, token: second.lease.token)
            #expect(try await lateReader.value.lease.fence > second.lease.fence)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func fencesIncreaseAcrossModes(store: StoreKind) async throws {
        try await store.withEngine { engine, _ in
            let name = try LockName(uniqueLockName())
            let first = try await engine.acquire(Self.request(name, mode: .shared))
            let second = try await engine.acquire(Self.request(name, mode: .shared))
            try await engine.release(name, token: first.lease.token)
            try await engine.release(name, token: second.lease.token)
            let writer = try await engine.acquire(Self.request(name))
            try await engine.release(name, token: writer.lease.token)
            let third = try await engine.acquire(Self.request(name, mode: .shared))
            try await engine.release(name, token: third.lease.token)
            let fences = [first, second, writer, third].map(\.lease.fence)
            #expect(fences == fences.sorted())
            #expect(Set(fences).count == fences.count)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aTokenCannotSwitchModes(store: StoreKind) async throws {
        try await store.withEngine { engine, _ in
            let name = try LockName(uniqueLockName())
            let reader = try await engine.acquire(Self.request(name, mode: .shared))
            // Even a waiting request is answered at once: waiting cannot help.
            let holders = await Self.expectHeld(engine, Self.request(name, waitMs: 20_000, token: reader.lease.token))
            #expect(holders.map(\.fence) == [reader.lease.fence])
            try await engine.release(name, token: reader.lease.token)
            let writer = try await engine.acquire(Self.request(name))
            _ = await Self.expectHeld(engine, Self.request(name, token: writer.lease.token, mode: .shared))
            #expect(try await engine.status(of: name).waiting == 0)
            #expect(engine.waiterCount == 0)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aRetryReturnsTheSameLeaseInEachMode(store: StoreKind) async throws {
        try await store.withEngine { engine, _ in
            let semaphore = try LockName(uniqueLockName())
            let token = LeaseToken.random()
            let first = try await engine.acquire(Self.request(semaphore, ttlMs: 5_000, token: token, limit: 2))
            _ = try await engine.acquire(Self.request(semaphore, limit: 2))
            let retry = try await engine.acquire(Self.request(semaphore, ttlMs: 9_000, waitMs: 1_000, token: token, limit: 2))
            #expect(retry.isRetry)
            #expect(retry.lease.fence == first.lease.fence)
            #expect(retry.lease.ttlMs == 9_000)
            #expect(try await engine.status(of: semaphore).holders.count == 2)

            let rw = try LockName(uniqueLockName())
            let reader = try await engine.acquire(Self.request(rw, token: token, mode: .shared))
            let again = try await engine.acquire(Self.request(rw, ttlMs: 7_000, token: token, mode: .shared))
            #expect(again.isRetry)
            #expect(again.lease.fence == reader.lease.fence)
            #expect(again.lease.mode == .shared)
            #expect(try await engine.status(of: rw).holders.count == 1)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func leasesRenewAndReleaseOneByOne(store: StoreKind) async throws {
        try await store.withEngine { engine, _ in
            let name = try LockName(uniqueLockName())
            let first = try await engine.acquire(Self.request(name, ttlMs: 5_000, limit: 2))
            let second = try await engine.acquire(Self.request(name, ttlMs: 5_000, limit: 2))
            let renewed = try await engine.renew(name, token: first.lease.token, ttlMs: 60_000)
            #expect(renewed.fence == first.lease.fence)
            #expect(renewed.limit == 2)
            var holders = try await engine.status(of: name).holders
            #expect(holders.first { $0.fence == first.lease.fence }.map { $0.remainingMs > 30_000 } == true)
            #expect(holders.first { $0.fence == second.lease.fence }.map { $0.remainingMs <= 5_000 } == true)
            try await engine.release(name, token: first.lease.token)
            await #expect(throws: LockError.leaseLost) { try await engine.release(name, token: first.lease.token) }
            holders = try await engine.status(of: name).holders
            #expect(holders.map(\.fence) == [second.lease.fence])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func cancelledWaitersLeaveNothingBehind(store: StoreKind) async throws {
        try await store.withEngine { engine, _ in
            let name = try LockName(uniqueLockName())
            let writer = try await engine.acquire(Self.request(name))
            let granted = Granted()
            let reader = try await Self.enqueue(engine, Self.request(name, waitMs: 20_000, mode: .shared), granted: granted)
            reader.cancel()
            await #expect(throws: LockError.cancelled) { try await reader.value }
            let drained = try await eventually { try await engine.status(of: name).waiting == 0 }
            #expect(drained)
            try await engine.release(name, token: writer.lease.token)
            let status = try await engine.status(of: name)
            #expect(!status.isHeld)
            #expect(status.waiting == 0)
            #expect(granted.owners.isEmpty)
            // Free and unwaited: any limit may take it.
            let next = try await engine.acquire(Self.request(name, limit: 7))
            #expect(next.lease.limit == 7)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func anExpiryFreesOneSlot(store: StoreKind) async throws {
        try await store.withEngine { engine, _ in
            let name = try LockName(uniqueLockName())
            // Both slots taken for a minute; only once that is seen is one
            // lease renewed down to 300 ms (granted with 300 ms, it could
            // expire before the other slot was taken on a busy machine).
            let short = try await engine.acquire(Self.request(name, ttlMs: 60_000, limit: 2))
            let long = try await engine.acquire(Self.request(name, ttlMs: 60_000, limit: 2))
            let held = await Self.expectHeld(engine, Self.request(name, limit: 2))
            #expect(held.count == 2)
            _ = try await engine.renew(name, token: short.lease.token, ttlMs: 300)
            let waiter = try await engine.acquire(Self.request(name, waitMs: 10_000, limit: 2))
            #expect(waiter.lease.fence > long.lease.fence)
            let fences = Set(try await engine.status(of: name).holders.map(\.fence))
            #expect(fences == [long.lease.fence, waiter.lease.fence])
            #expect(!fences.contains(short.lease.fence))
        }
    }

    @Test(arguments: StoreKind.allCases)
    func theListShowsSemaphoresAndReaderWriterLocks(store: StoreKind) async throws {
        try await store.withEngine { engine, _ in
            let prefix = uniqueLockName()
            let semaphore = try LockName(prefix + ":a")
            let rw = try LockName(prefix + ":b")
            for _ in 0..<2 { _ = try await engine.acquire(Self.request(semaphore, limit: 5)) }
            for _ in 0..<3 { _ = try await engine.acquire(Self.request(rw, mode: .shared)) }
            let page = try await engine.list(prefix: prefix, limit: 10, cursor: nil)
            #expect(page.locks.map(\.name) == [semaphore, rw])
            #expect(page.locks.map(\.limit) == [5, 1])
            #expect(page.locks.map(\.holders.count) == [2, 3])
            #expect(page.locks.map(\.mode) == [.exclusive, .shared])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func heldAnswersCountToTheExpiryThatAdmits(store: StoreKind) async throws {
        try await store.withEngine { engine, _ in
            let name = try LockName(uniqueLockName())
            _ = try await engine.acquire(Self.request(name, ttlMs: 2_000, mode: .shared))
            _ = try await engine.acquire(Self.request(name, ttlMs: 50_000, mode: .shared))
            do throws(LockError) {
                _ = try await engine.acquire(Self.request(name))
                Issue.record("a writer was let in beside readers")
            } catch {
                guard case .lockHeld(_, let retryAfterMs) = error else { throw error }
                // Both readers must go: the later expiry.
                #expect(retryAfterMs > 10_000)
            }
        }
    }
}

/// Grants in the order they completed.
final class Granted: Sendable {
    private let grants = Mutex<[AcquireGrant]>([])

    func append(_ grant: AcquireGrant) { grants.withLock { $0.append(grant) } }

    var owners: [String] { grants.withLock { $0.compactMap(\.lease.owner) } }
}

extension Collection where Element: Sendable {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}
