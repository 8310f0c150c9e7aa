import LockdAPI
import Testing

/// Review (issue 22, wip-eng26): RFC 3339 text with the last second's text
/// kept for the next instant. Around every kind of boundary — a second, a
/// minute, an hour, a day, a month, a year, a leap day, 1999/2000,
/// 2099/2100/2101, the epoch, year 9999 — instants formatted in the order a
/// kept second would be reused wrongly (the second before, then the
/// boundary, then back) equal a reference worked out here from the civil
/// calendar alone.
@Suite struct RFC3339BoundaryReviewTests {
    /// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
    private static func civil(_ days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    private static func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }

    private static func reference(_ milliseconds: Int64) -> String {
        let days = milliseconds >= 0 ? milliseconds / 86_400_000 : -((-milliseconds + 86_399_999) / 86_400_000)
        let msOfDay = milliseconds - days * 86_400_000
        let (year, month, day) = civil(days)
        let ms = msOfDay % 1_000
        let msText = ms < 10 ? "00\(ms)" : ms < 100 ? "0\(ms)" : "\(ms)"
        let yearText = String(repeating: "0", count: max(0, 4 - String(year).count)) + String(year)
        return "\(yearText)-\(two(month))-\(two(day))T\(two(msOfDay / 3_600_000)):\(two(msOfDay / 60_000 % 60)):\(two(msOfDay / 1_000 % 60)).\(msText)Z"
    }

    /// Seconds since the epoch of UTC midnight on a date.
    private static func midnight(_ year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        // Days from civil (inverse of `civil`).
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return (era * 146_097 + doe - 719_468) * 86_400
    }

    @Test func boundariesFormatAsTheCivilCalendarSays() {
        var boundaries: [Int64] = [0, 1, 60, 3_600, 86_400]
        for (year, month, day) in [(1999, 12, 31), (2000, 1, 1), (2000, 2, 29), (2000, 3, 1), (2024, 2, 29), (2024, 3, 1),
                                   (2026, 12, 6), (2026, 12, 31), (2027, 1, 1), (2099, 12, 31), (2100, 1, 1), (2100, 2, 28),
                                   (2100, 3, 1), (2101, 1, 1), (1970, 1, 2), (9999, 12, 31)] as [(Int64, Int64, Int64)] {
            let start = Self.midnight(year, month, day)
            boundaries += [start, start + 59, start + 60, start + 3_599, start + 3_600, start + 86_399]
        }
        for second in boundaries {
            let base = second * 1_000
            // Before, at, inside, at the end of, and after the second; then back.
            for instant in [base - 1, base, base + 1, base + 999, base + 1_000, base - 1_000, base + 500, base - 1] {
                #expect(RFC3339.format(milliseconds: instant) == Self.reference(instant), "instant \(instant)")
            }
        }
        #expect(RFC3339.format(milliseconds: Self.midnight(2024, 2, 29) * 1_000 + 7) == "2024-02-29T00:00:00.007Z")
        #expect(RFC3339.format(milliseconds: Self.midnight(2100, 3, 1) * 1_000 - 1) == "2100-02-28T23:59:59.999Z")
        #expect(RFC3339.format(milliseconds: 946_684_799_999) == "1999-12-31T23:59:59.999Z")
        #expect(RFC3339.format(milliseconds: 946_684_800_000) == "2000-01-01T00:00:00.000Z")
    }
}
