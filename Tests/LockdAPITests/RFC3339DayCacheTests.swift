import Testing

@testable import LockdAPI

/// `RFC3339`'s date of the day last formatted (`RFC3339.date`) is the date
/// worked out afresh (`RFC3339.civilDate`) whatever came before it: the
/// same day again, the next, one far away, one before the epoch, one past
/// year 9999 (not kept), in runs and interleaved.
@Suite struct RFC3339DayCacheTests {
    @Test func cachedDatesAreTheWorkedOutOnes() {
        var generator = SystemRandomNumberGenerator()
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
            #expect(cached == fresh, "day \(day)")
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
}
