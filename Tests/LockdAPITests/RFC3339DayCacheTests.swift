import LockdTestSupport
import Testing

@testable import LockdAPI

/// `RFC3339`'s dates of the last even and odd days formatted
/// (`RFC3339.date`) are the dates worked out afresh (`RFC3339.civilDate`)
/// whatever came before them: the same day again, the next, one far away,
/// one before the epoch, one past year 9999 (not kept), in runs and
/// interleaved.
@Suite struct RFC3339DayCacheTests {
    /// The random days' seed: fixed, so a failure replays.
    private static let seed: UInt64 = 0x3339_DA7E

    @Test func cachedDatesAreTheWorkedOutOnes() {
        var generator = SplitMix64(seed: Self.seed)
        let today: Int64 = 20_793  // 2026-12-06
        var days: [Int64] = [0, -1, 1, today, today, today + 1, today, -719_468, -719_469, 2_932_896, 2_932_897, 2_932_896,
                             Int64(Int32.max), Int64(Int32.max) + 1, Int64(Int32.min) - 1, Int64(Int32.min), today]
        for _ in 0..<20_000 {
            switch Int.random(in: 0..<4, using: &generator) {
            case 0: days.append(days.last ?? today)
            case 1: days.append(today + Int64.random(in: -3...3, using: &generator))
            case 2: days.append(Int64.random(in: -800_000...3_000_000, using: &generator))
            default: days.append(Int64.random(in: -100_000_000_000...100_000_000_000, using: &generator))
            }
        }
        for day in days {
            let cached = RFC3339.date(daysSinceEpoch: day)
            let fresh = RFC3339.civilDate(daysSinceEpoch: day)
            #expect(cached == fresh, "day \(day) (seed \(Self.seed))")
        }
    }

    /// Instants of one day, then of others, format as before (fixed strings).
    @Test func instantsOfTheSameAndOtherDaysFormat() {
        for _ in 0..<3 {
            #expect(RFC3339.format(milliseconds: 1_796_362_981_073) == "2026-12-04T05:43:01.073Z")
            #expect(RFC3339.format(milliseconds: 1_796_362_981_074) == "2026-12-04T05:43:01.074Z")
            #expect(RFC3339.format(milliseconds: 1_796_342_400_000 - 1) == "2026-12-03T23:59:59.999Z")
            #expect(RFC3339.format(milliseconds: 253_402_300_800_000) == "10000-01-01T00:00:00.000Z")
            #expect(RFC3339.format(milliseconds: 253_402_300_799_999) == "9999-12-31T23:59:59.999Z")
            #expect(RFC3339.format(milliseconds: -1) == "1969-12-31T23:59:59.999Z")
        }
    }

    /// A request's "now" and a lease expiring after midnight alternate
    /// between two days: both format right, and both are served from the
    /// entries (one entry for the process left one of them out each time).
    /// Other tests format instants at once: a day may be evicted by them
    /// now and then, so some turn must find both, not every one.
    @Test func alternatingDaysAcrossMidnightBothHit() {
        let lastMs: Int64 = 1_796_428_800_000 - 1  // 2026-12-04T23:59:59.999Z
        var bothCached = false
        for _ in 0..<1_000 {
            #expect(RFC3339.format(milliseconds: lastMs) == "2026-12-04T23:59:59.999Z")
            #expect(RFC3339.format(milliseconds: lastMs + 1) == "2026-12-05T00:00:00.000Z")
            #expect(RFC3339.format(milliseconds: lastMs - 3_600_000) == "2026-12-04T22:59:59.999Z")
            #expect(RFC3339.format(milliseconds: lastMs + 86_400_000) == "2026-12-05T23:59:59.999Z")
            let day = lastMs / 86_400_000
            if let today = RFC3339.cachedDate(daysSinceEpoch: day), let tomorrow = RFC3339.cachedDate(daysSinceEpoch: day + 1),
               today == (2026, 12, 4), tomorrow == (2026, 12, 5) {
                bothCached = true
                break
            }
        }
        #expect(bothCached, "the two days evicted each other")
    }
}
