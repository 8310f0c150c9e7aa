import ArgumentParser

/// Durations on the command line: a whole number and a unit — `500ms`, `30s`,
/// `5m`, `1h` — or a bare `0`.
enum DurationText {
    /// Each unit and its length in milliseconds; `ms` before `m` and `s`, which it ends with.
    private static let units: [(suffix: String, milliseconds: Int64)] = [("ms", 1), ("s", 1_000), ("m", 60_000), ("h", 3_600_000)]

    /// Reads `text`, as an `@Option`'s transform.
    /// - Throws: `ValidationError` saying how to write one.
    static func parse(_ text: String) throws -> Duration {
        if text == "0" { return .zero }
        for (suffix, milliseconds) in units where text.hasSuffix(suffix) {
            let digits = text.dropLast(suffix.count)
            // At most 9 digits: even 999999999h fits in a Duration.
            guard !digits.isEmpty, digits.count <= 9, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let number = Int64(digits) else { break }
            return .milliseconds(number * milliseconds)
        }
        throw ValidationError("'\(text)' is not a duration: write a whole number and a unit, as in 500ms, 30s, 5m or 1h")
    }

    /// The shortest exact way to write `duration` back: `1500ms`, `30s`, `5m`.
    static func format(_ duration: Duration) -> String {
        let milliseconds = milliseconds(duration)
        if milliseconds % 3_600_000 == 0, milliseconds > 0 { return "\(milliseconds / 3_600_000)h" }
        if milliseconds % 60_000 == 0, milliseconds > 0 { return "\(milliseconds / 60_000)m" }
        if milliseconds % 1_000 == 0 { return "\(milliseconds / 1_000)s" }
        return "\(milliseconds)ms"
    }

    /// Whole milliseconds, rounded toward zero.
    static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1_000 + duration.components.attoseconds / 1_000_000_000_000_000
    }
}
