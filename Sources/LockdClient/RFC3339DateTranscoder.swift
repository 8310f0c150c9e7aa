import Foundation
import OpenAPIRuntime

/// lockd's timestamps — RFC 3339 UTC with milliseconds (`2026-11-29T03:18:55.502Z`) —
/// read and written by `Date.ISO8601FormatStyle`.
///
/// OpenAPIRuntime's own `.iso8601WithFractionalSeconds` goes through
/// `ISO8601DateFormatter`, which on Linux sets up ICU and time-zone data at its
/// first use: some 15–25 ms, most of a short-lived client's run (`lockd exec`).
/// The format style needs neither. A timestamp without fractional seconds is
/// read too.
struct RFC3339DateTranscoder: DateTranscoder {
    private static let withFraction = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
    private static let withoutFraction = Date.ISO8601FormatStyle()

    func encode(_ date: Date) throws -> String {
        Self.withFraction.format(date)
    }

    func decode(_ text: String) throws -> Date {
        if let date = Self.millisecondTimestamp(text) { return date }
        if let date = try? Self.withFraction.parse(text) { return date }
        return try Self.withoutFraction.parse(text)
    }

    /// `YYYY-MM-DDTHH:MM:SS.fffZ` — the one form lockd writes — read without the
    /// format style (which cost ~6k instructions a lease, a tenth of a `withLock`
    /// cycle's client CPU), into the very `Date` the format style makes: the day's
    /// start, plus the time of day with its fraction added first (the format style's
    /// order of additions, which `RFC3339DateTranscoderTests` checks on many dates).
    /// Nil for anything else, and for out-of-range fields: the format style decides those.
    static func millisecondTimestamp(_ text: String) -> Date? {
        var text = text
        return text.withUTF8 { bytes -> Date? in
            guard bytes.count == 24, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
                bytes[10] == UInt8(ascii: "T"), bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"),
                bytes[19] == UInt8(ascii: "."), bytes[23] == UInt8(ascii: "Z")
            else { return nil }
            func number(_ start: Int, _ count: Int) -> Int? {
                var value = 0
                for byte in bytes[start..<(start + count)] {
                    guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                    value = value * 10 + Int(byte - UInt8(ascii: "0"))
                }
                return value
            }
            guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
                let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2),
                let millisecond = number(20, 3),
                year >= 1970, (1...12).contains(month), day >= 1, day <= daysIn(month, of: year),
                hour < 24, minute < 60, second < 60
            else { return nil }
            let dayStart = daysSinceEpoch(year: year, month: month, day: day) * 86_400 - 978_307_200
            let timeOfDay = Double(hour * 3600 + minute * 60 + second) + Double(millisecond) / 1000
            return Date(timeIntervalSinceReferenceDate: Double(dayStart) + timeOfDay)
        }
    }

    private static func daysIn(_ month: Int, of year: Int) -> Int {
        switch month {
        case 2: year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days from 1970-01-01 to the date (proleptic Gregorian; Howard Hinnant's `days_from_civil`).
    private static func daysSinceEpoch(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = y / 400  // years from 1970 on: never negative
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
