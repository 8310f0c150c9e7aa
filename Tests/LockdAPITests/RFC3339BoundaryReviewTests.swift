import Foundation
import LockdAPI
import Testing

/// Review (issue 22, wip-eng26): RFC 3339 text with the last second's text
/// kept for the next instant. Around every kind of boundary — a second, a
/// minute, an hour, a day, a month, a year, a leap day, 1999/2000,
/// 2099/2100/2101, the epoch, year 9999 — instants formatted in the order a
/// kept second would be reused wrongly (the second before, then the
/// boundary, then back) equal what Foundation's Gregorian calendar says:
/// a reference that shares no code or algorithm with `RFC3339`.
@Suite struct RFC3339BoundaryReviewTests {
    private static let utcCalendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? TimeZone(secondsFromGMT: 0) ?? calendar.timeZone
        return calendar
    }()

    private static func padded(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    /// The expected text: whole seconds through the calendar (exact in a
    /// `Double`), the milliseconds by integer arithmetic.
    private static func reference(_ milliseconds: Int64) -> String {
        let (quotient, remainder) = milliseconds.quotientAndRemainder(dividingBy: 1_000)
        let seconds = remainder < 0 ? quotient - 1 : quotient
        let millisecond = Int(remainder < 0 ? remainder + 1_000 : remainder)
        let parts = utcCalendar.dateComponents(
            [.year, .month, .day, .hour, .minute, .second], from: Date(timeIntervalSince1970: Double(seconds)))
        return "\(padded(parts.year ?? -1, 4))-\(padded(parts.month ?? -1, 2))-\(padded(parts.day ?? -1, 2))T"
            + "\(padded(parts.hour ?? -1, 2)):\(padded(parts.minute ?? -1, 2)):\(padded(parts.second ?? -1, 2))."
            + "\(padded(millisecond, 3))Z"
    }

    /// Seconds since the epoch of UTC midnight on a date, through the calendar.
    private static func midnight(_ year: Int, _ month: Int, _ day: Int) throws -> Int64 {
        let date = try #require(utcCalendar.date(from: DateComponents(year: year, month: month, day: day)))
        return Int64(date.timeIntervalSince1970)
    }

    @Test func theReferenceAgreesWithKnownInstants() throws {
        #expect(Self.reference(0) == "1970-01-01T00:00:00.000Z")
        #expect(Self.reference(-1) == "1969-12-31T23:59:59.999Z")
        #expect(Self.reference(951_782_400_123) == "2000-02-29T00:00:00.123Z")
        #expect(try Self.midnight(2000, 1, 1) == 946_684_800)
    }

    @Test func boundariesFormatAsTheCalendarSays() throws {
        var boundaries: [Int64] = [0, 1, 60, 3_600, 86_400]
        for (year, month, day) in [(1999, 12, 31), (2000, 1, 1), (2000, 2, 29), (2000, 3, 1), (2024, 2, 29), (2024, 3, 1),
                                   (2026, 12, 6), (2026, 12, 31), (2027, 1, 1), (2099, 12, 31), (2100, 1, 1), (2100, 2, 28),
                                   (2100, 3, 1), (2101, 1, 1), (1970, 1, 2), (9999, 12, 31)] {
            let start = try Self.midnight(year, month, day)
            boundaries += [start, start + 59, start + 60, start + 3_599, start + 3_600, start + 86_399]
        }
        for second in boundaries {
            let base = second * 1_000
            // Before, at, inside, at the end of, and after the second; then back.
            for instant in [base - 1, base, base + 1, base + 999, base + 1_000, base - 1_000, base + 500, base - 1] {
                #expect(RFC3339.format(milliseconds: instant) == Self.reference(instant), "instant \(instant)")
            }
        }
        #expect(RFC3339.format(milliseconds: try Self.midnight(2024, 2, 29) * 1_000 + 7) == "2024-02-29T00:00:00.007Z")
        #expect(RFC3339.format(milliseconds: try Self.midnight(2100, 3, 1) * 1_000 - 1) == "2100-02-28T23:59:59.999Z")
        #expect(RFC3339.format(milliseconds: 946_684_799_999) == "1999-12-31T23:59:59.999Z")
        #expect(RFC3339.format(milliseconds: 946_684_800_000) == "2000-01-01T00:00:00.000Z")
    }
}
