import CoreMetrics
import Dispatch
import Synchronization
import Testing

@testable import LockEngine

/// The ledger's table after a burst is retired, not rebuilt under the lock:
/// the sweep that finds it oversized swaps in an empty one, new leases go
/// there, the retired table's leases are found, renewed, released and swept
/// where they are, and each sweep moves a bounded number of them over until
/// it is empty and freed. No lease is lost or counted twice on the way.
@Suite struct LeaseLedgerRetireTests {
    private static let second: UInt64 = 1_000_000_000

    private func token(_ number: Int) throws -> LeaseToken {
        try LeaseToken("retire-\(String(number, radix: 16))-" + String(repeating: "r", count: 16))
    }

    private func lease(_ name: LockName, _ token: LeaseToken, ttlMs: Int64) -> Lease {
        Lease(name: name, token: token, fence: 1, ttlMs: ttlMs, expiresAtMs: 0, owner: nil, mode: .shared, limit: 3)
    }

    @Test func aRetiredTablesLeasesAreFoundRenewedEndedAndMovedOver() throws {
        let ledger = LeaseLedger(factory: NOOPMetricsHandler.instance)
        let burst = 8 * LeaseTable.minimumRoom
        for number in 0..<burst {
            ledger.granted(lease(try LockName("retire-\(number)"), try token(number), ttlMs: 100_000), isRetry: false, now: 0)
        }
        let shared = try LockName("retire-shared")
        for number in 0..<3 {
            ledger.granted(lease(shared, try token(burst + number), ttlMs: Int64(20_000 + 1_000 * number)), isRetry: false, now: 0)
        }
        let kept = [7, 4_242, burst - 1]
        for number in 0..<burst where !kept.contains(number) {
            #expect(ledger.released(try LockName("retire-\(number)"), token: try token(number), now: 1_000_000))
        }
        #expect(ledger.count == kept.count + 3)
        // The sweep retires the table: nothing copied, the new one empty.
        ledger.sweep(now: Self.second)
        let retired = ledger.rooms
        #expect(retired.retiring ?? 0 >= burst, "the oversized table was not retired")
        #expect(retired.live == 0, "the sweep copied leases under the lock")
        #expect(ledger.count == kept.count + 3)
        // A grant goes to the new table; the retired one's leases are found there.
        let after = try LockName("retire-after")
        ledger.granted(lease(after, try token(1), ttlMs: 1_000_000), isRetry: false, now: Self.second)
        #expect(ledger.count == kept.count + 4)
        #expect(ledger.released(try LockName("retire-\(kept[1])"), token: try token(kept[1]), now: Self.second))
        #expect(!ledger.released(try LockName("retire-\(kept[1])"), token: try token(kept[1]), now: Self.second))
        ledger.renewed(lease(shared, try token(burst + 1), ttlMs: 49_000), now: Self.second)
        #expect(ledger.count == kept.count + 3)
        // The next sweep moves the few left over and frees the retired table.
        ledger.sweep(now: 2 * Self.second)
        let drained = ledger.rooms
        #expect(drained.retiring == nil, "the emptied retired table was kept")
        #expect(drained.live <= 2 * LeaseTable.minimumRoom)
        #expect(ledger.count == kept.count + 3)
        // Due at 21 s and 23 s (a second of grace): the shared name's first and third.
        ledger.sweep(now: 30 * Self.second)
        #expect(ledger.count == kept.count + 1)
        #expect(!ledger.released(shared, token: try token(burst), now: 30 * Self.second))
        #expect(ledger.released(shared, token: try token(burst + 1), now: 30 * Self.second))
        ledger.sweep(now: 200 * Self.second)
        #expect(ledger.count == 1)
        #expect(ledger.released(after, token: try token(1), now: 200 * Self.second))
        #expect(ledger.count == 0)
    }

    /// Grants and releases from several threads while sweeps retire the
    /// table and drain it: the count is the model's throughout, and every
    /// lease held at the end is found by its release.
    @Test func grantsRacingTheRetirementAreNotLost() throws {
        let ledger = LeaseLedger(factory: NOOPMetricsHandler.instance)
        let burst = 16 * LeaseTable.minimumRoom
        for number in 0..<burst {
            ledger.granted(lease(try LockName("race-\(number)"), try token(number), ttlMs: 1_000_000), isRetry: false, now: 0)
        }
        // All but every sixteenth released: the table four times too large
        // even with every lease the threads add.
        for number in 0..<burst where number % 16 != 0 {
            #expect(ledger.released(try LockName("race-\(number)"), token: try token(number), now: 1))
        }
        let kept = burst / 16
        let threads = 4
        let rounds = 3_000
        let clock = Atomic<UInt64>(Self.second)
        let left = Mutex<[(LockName, LeaseToken)]>([])
        DispatchQueue.concurrentPerform(iterations: threads + 1) { thread in
            guard thread < threads else {
                // The sweeper: a second later each time, through the retirement and its drain.
                for _ in 0..<60 { ledger.sweep(now: clock.add(Self.second, ordering: .relaxed).newValue) }
                return
            }
            var held: [(LockName, LeaseToken)] = []
            for round in 0..<rounds {
                let name = try! LockName("race-\(thread)-\(round)")
                let token = try! self.token(burst + thread * rounds + round)
                ledger.granted(self.lease(name, token, ttlMs: 1_000_000), isRetry: false, now: clock.load(ordering: .relaxed))
                held.append((name, token))
                // The old leases too, from the retired table or after their move.
                if round % 2 == 1 {
                    let (oldName, oldToken) = held.removeFirst()
                    #expect(ledger.released(oldName, token: oldToken, now: clock.load(ordering: .relaxed)))
                }
            }
            left.withLock { $0.append(contentsOf: held) }
        }
        let held = left.withLock { $0 }
        #expect(ledger.count == kept + held.count)
        for (name, token) in held { #expect(ledger.released(name, token: token, now: 100 * Self.second)) }
        for number in stride(from: 0, to: burst, by: 16) {
            #expect(ledger.released(try LockName("race-\(number)"), token: try token(number), now: 100 * Self.second))
        }
        #expect(ledger.count == 0)
        ledger.sweep(now: 200 * Self.second)
        #expect(ledger.rooms.retiring == nil)
        #expect(ledger.rooms.live < burst, "the burst's table was kept")
    }
}
