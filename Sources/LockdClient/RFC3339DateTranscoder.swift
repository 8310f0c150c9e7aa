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
        if let date = try? Self.withFraction.parse(text) { return date }
        return try Self.withoutFraction.parse(text)
    }
}
