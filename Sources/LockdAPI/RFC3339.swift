import Synchronization

/// Formats instants as RFC 3339 UTC with milliseconds: `2026-11-29T03:04:05.123Z`.
public enum RFC3339 {
    /// Formats milliseconds since the Unix epoch.
    public static func format(milliseconds: Int64) -> String {
        var bytes: [UInt8] = []
        append(milliseconds: milliseconds, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends the instant, formatted, as ASCII bytes (the form JSON bodies use).
    static func append(milliseconds: Int64, to bytes: inout [UInt8]) {
        var text: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0)  // 48 bytes: ``maxCount``
        withUnsafeMutableBytes(of: &text) { out in
            guard let base = out.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
            bytes.append(contentsOf: UnsafeBufferPointer(start: base, count: write(milliseconds: milliseconds, to: base)))
        }
    }

    /// The most bytes ``write(milliseconds:to:)`` writes (a year of 20 characters).
    static let maxCount = 40

    /// Writes the instant, formatted, at `position` (room for ``maxCount``
    /// bytes) and returns how many bytes it wrote: a digit at a time into an
    /// array cost ~1 300 instructions per instant.
    static func write(milliseconds: Int64, to position: UnsafeMutablePointer<UInt8>) -> Int {
        let seconds = floorDivide(milliseconds, 1_000)
        if secondText.write(seconds, to: UnsafeMutableRawPointer(position)) {
            let fraction = milliseconds - seconds * 1_000
            position[19] = UInt8(ascii: ".")
            position[20] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: fraction / 100)
            pair(fraction % 100, then: "Z", at: position + 21)
            return 24
        }
        let written = writeWorkedOut(milliseconds: milliseconds, to: position)
        // Four digits of year: the second's text is the first 19 bytes.
        if written == 24 { secondText.keep(seconds, text: UnsafeRawPointer(position)) }
        return written
    }

    /// The last second written (``RFC3339SecondText``).
    private static let secondText = RFC3339SecondText()

    /// ``write(milliseconds:to:)`` worked out from the instant alone.
    static func writeWorkedOut(milliseconds: Int64, to position: UnsafeMutablePointer<UInt8>) -> Int {
        let days = floorDivide(milliseconds, 86_400_000)
        let msOfDay = milliseconds - days * 86_400_000
        let (year, month, day) = date(daysSinceEpoch: days)
        var at = 0
        if (0...9_999).contains(year) {
            pair(year / 100, at: position)
            pair(year % 100, then: "-", at: position + 2)
            at = 5
        } else {
            // Beyond four digits (or before year 0): as it is.
            at = ASCIIDigits.write(year, to: position)
            position[at] = UInt8(ascii: "-")
            at += 1
        }
        pair(month, then: "-", at: position + at)
        pair(day, then: "T", at: position + at + 3)
        pair(msOfDay / 3_600_000, then: ":", at: position + at + 6)
        pair(msOfDay / 60_000 % 60, then: ":", at: position + at + 9)
        pair(msOfDay / 1_000 % 60, then: ".", at: position + at + 12)
        let milliseconds = msOfDay % 1_000
        position[at + 15] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: milliseconds / 100)
        pair(milliseconds % 100, then: "Z", at: position + at + 16)
        return at + 19
    }

    /// Writes `value` (0–99) as two digits at `position`, and `separator`
    /// after them: one division by a constant a pair (a digit per loop
    /// turn cost an instant ~0.5 k instructions).
    @inline(__always)
    private static func pair(_ value: Int64, then separator: Unicode.Scalar? = nil, at position: UnsafeMutablePointer<UInt8>) {
        let value = UInt8(truncatingIfNeeded: value)
        position[0] = UInt8(ascii: "0") + value / 10
        position[1] = UInt8(ascii: "0") + value % 10
        if let separator { position[2] = UInt8(ascii: separator) }
    }

    /// The civil dates of the last even and the last odd day formatted,
    /// each packed in one word read and written whole: bit 63 set once
    /// filled, the day's number since the epoch in bits 0–31, year, month
    /// and day from bit 32 (14, 4 and 5 bits). Nearly every instant a lockd
    /// writes falls on the day of the one before, or on the next (a lease
    /// expiring after midnight, written beside "now"): its date is read
    /// here rather than worked out again (~0.1 k instructions an instant).
    /// Two entries, one for each parity, so that a request's "now" and an
    /// expiry on the next day both hit: with one, each would evict the
    /// other, a miss and a store to a line every loop thread reads.
    private static let evenDay = Atomic<UInt64>(0)
    private static let oddDay = Atomic<UInt64>(0)

    /// ``civilDate(daysSinceEpoch:)``, through ``evenDay`` and ``oddDay``.
    static func date(daysSinceEpoch days: Int64) -> (Int64, Int64, Int64) {
        if let date = cachedDate(daysSinceEpoch: days) { return date }
        let (year, month, day) = civilDate(daysSinceEpoch: days)
        // Only what fits the word: a day within 32 bits, a year of four digits.
        if Int64(Int32(truncatingIfNeeded: days)) == days, (0...9_999).contains(year) {
            let packed = 1 << 63 | UInt64(day) << 50 | UInt64(month) << 46 | UInt64(year) << 32 | UInt64(UInt32(truncatingIfNeeded: days))
            if days & 1 == 0 { evenDay.store(packed, ordering: .relaxed) } else { oddDay.store(packed, ordering: .relaxed) }
        }
        return (year, month, day)
    }

    /// The date of `days` if its parity's entry holds it, else nil (also
    /// what tests read to see that a day is served from the entries).
    @inline(__always)
    static func cachedDate(daysSinceEpoch days: Int64) -> (Int64, Int64, Int64)? {
        let packed = days & 1 == 0 ? evenDay.load(ordering: .relaxed) : oddDay.load(ordering: .relaxed)
        guard packed >> 63 == 1, Int64(Int32(truncatingIfNeeded: packed)) == days else { return nil }
        return (Int64(packed >> 32 & 0x3FFF), Int64(packed >> 46 & 0xF), Int64(packed >> 50 & 0x1F))
    }

    private static func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
        value >= 0 ? value / divisor : (value - divisor + 1) / divisor
    }

    /// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian).
    static func civilDate(daysSinceEpoch: Int64) -> (Int64, Int64, Int64) {
        let z = daysSinceEpoch + 719_468
        let era = floorDivide(z, 146_097)
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }
}
