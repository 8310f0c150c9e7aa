@testable import LockEngine
import LockdTestSupport
import LockdTransport
import Synchronization
import Testing

/// review2: the deadline heap pops its entries soonest first, however they
/// were inserted and interleaved with pops, and the waiting acquires it
/// serves each end no sooner than their own deadline.
@Suite struct DeadlineHeapReviewTests {
    @Test func popsInDeadlineOrderUnderRandomInsertsAndPops() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<50 {
            var heap = DeadlineHeap()
            var reference: [UInt64] = []
            var order: UInt64 = 0
            for _ in 0..<500 {
                if reference.isEmpty || Int.random(in: 0..<3, using: &generator) > 0 {
                    let at = UInt64.random(in: 0..<64, using: &generator)
                    order += 1
                    heap.insert(.init(at: at, order: order, waiter: WaiterID.random()))
                    reference.append(at)
                } else {
                    let least = reference.min()!
                    #expect(heap.first?.at == least)
                    heap.removeFirst()
                    reference.remove(at: reference.firstIndex(of: least)!)
                }
            }
            while let first = heap.first {
                let least = reference.min()!
                #expect(first.at == least)
                heap.removeFirst()
                reference.remove(at: reference.firstIndex(of: least)!)
            }
            #expect(reference.isEmpty)
        }
    }

    /// Many waiters with shuffled deadlines, every third cancelled while
    /// waiting: each remaining one is refused no sooner than its deadline,
    /// each cancelled one ends cancelled, and none is left waiting.
    ///
    /// The cancelled ones wait far longer than the test runs, so that they
    /// are still waiting when cancelled however late this task looks; the
    /// test waits for every acquire to have queued or ended — not for all
    /// to be queued at once, which a poll late by the shortest wait (100 ms
    /// on a busy machine) would never see.
    @Test(arguments: StoreKind.allCases)
    func manyWaitersEachEndAtTheirOwnDeadline(store: StoreKind) async throws {
        try await store.withEngine { engine, _ in
            let name = try LockName(uniqueLockName())
            _ = try await engine.acquire(AcquireRequest(name: name, ttlMs: 60_000))
            let cancelledWaitMs: Int64 = 60_000
            let waits: [Int64] = (0..<60).map { $0 % 3 == 0 ? cancelledWaitMs : 100 + Int64($0 % 20) * 37 }.shuffled()
            let ended = Count()
            var tasks: [(waitMs: Int64, task: Task<(UInt64, Bool), Never>)] = []
            for waitMs in waits {
                tasks.append((waitMs, Task {
                    let started = MonotonicClock.now()
                    defer { ended.value.add(1, ordering: .releasing) }
                    do {
                        _ = try await engine.acquire(AcquireRequest(name: name, ttlMs: 5_000, waitMs: waitMs))
                        return (MonotonicClock.now() - started, false)
                    } catch {
                        return ((MonotonicClock.now() - started), (error as? LockError) == .cancelled)
                    }
                }))
            }
            let allQueuedOrEnded = await eventually { engine.waiterCount + ended.value.load(ordering: .acquiring) == waits.count }
            #expect(allQueuedOrEnded)
            for entry in tasks where entry.waitMs == cancelledWaitMs { entry.task.cancel() }
            for entry in tasks {
                let (elapsed, cancelled) = await entry.task.value
                if entry.waitMs == cancelledWaitMs {
                    #expect(cancelled, "a waiter cancelled while waiting ended \(elapsed / 1_000_000) ms in, not cancelled")
                    continue
                }
                #expect(!cancelled)
                #expect(elapsed >= UInt64(entry.waitMs) * 1_000_000, "ended \(elapsed / 1_000_000) ms into a \(entry.waitMs) ms wait")
            }
            #expect(engine.waiterCount == 0)
        }
    }

    /// A sooner deadline that arrives while the one deadline timer is set
    /// for a much later one gets its own timer: its wait ends at its
    /// deadline, not at the later waiter's. (`eachWaitRunsOutAtItsOwnDeadline`
    /// allows 3 s for a 300 ms wait whose only other timer is due at 1 s, so
    /// it passes whether or not the sooner deadline re-arms the timer.)
    @Test(arguments: StoreKind.allCases)
    func aSoonerDeadlineIsNotLeftToTheLaterWaitersTimer(store: StoreKind) async throws {
        try await store.withEngine { engine, _ in
            let name = try LockName(uniqueLockName())
            _ = try await engine.acquire(AcquireRequest(name: name, ttlMs: 60_000))
            let later = Task { try await engine.acquire(AcquireRequest(name: name, ttlMs: 5_000, waitMs: 20_000)) }
            // Parked: its deadline is the one the timer is set for.
            let parked = await eventually { engine.waiters.parkedQueues().first?.waiters.count == 1 }
            #expect(parked)
            let started = MonotonicClock.now()
            await #expect(throws: LockError.self) {
                try await engine.acquire(AcquireRequest(name: name, ttlMs: 5_000, waitMs: 300))
            }
            let elapsedMs = (MonotonicClock.now() - started) / 1_000_000
            #expect(elapsedMs >= 300 && elapsedMs < 10_000, "a 300 ms wait ended after \(elapsedMs) ms")
            later.cancel()
            await #expect(throws: LockError.cancelled) { try await later.value }
            #expect(engine.waiterCount == 0)
        }
    }

    /// How many waiters' acquires have ended, shared with their tasks.
    final class Count: Sendable {
        let value = Atomic<Int>(0)
    }
}
