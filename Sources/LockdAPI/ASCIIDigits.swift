/// Writes integers as ASCII decimal digits straight into a byte array,
/// without the `String` that `String(value)` would allocate.
enum ASCIIDigits {
    /// The most bytes ``write(_:to:)`` writes: `Int64.min`'s 20 characters.
    static let maxCount = 20

    /// Appends `value` in decimal (with a leading `-` when negative).
    static func append(_ value: Int64, to bytes: inout [UInt8]) {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 20 characters at most, as stack space
        withUnsafeMutableBytes(of: &digits) { scratch in
            guard let base = scratch.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
            // Through a buffer, not a slice: `+=` of a `Slice` copies byte by byte.
            bytes.append(contentsOf: UnsafeBufferPointer(start: base, count: write(value, to: base)))
        }
    }

    /// Writes `value` in decimal at `position` (room for ``maxCount``
    /// bytes) and returns how many bytes it wrote. Two digits per division,
    /// its width counted by multiplying (a division a digit, twice, cost a
    /// 16-digit fence ~300 instructions).
    static func write(_ value: Int64, to position: UnsafeMutablePointer<UInt8>) -> Int {
        // The magnitude as unsigned, so Int64.min needs no special case.
        var magnitude = value.magnitude
        var width = value < 0 ? 2 : 1
        var bound: UInt64 = 10
        // 10^19 is the last power of ten below 2^64 (UInt64.max has 20 digits).
        while magnitude >= bound {
            width += 1
            guard bound <= 1_000_000_000_000_000_000 else { break }
            bound *= 10
        }
        if value < 0 { position.pointee = UInt8(ascii: "-") }
        var digit = position + width
        while magnitude >= 100 {
            let pair = UInt8(truncatingIfNeeded: magnitude % 100)
            magnitude /= 100
            digit -= 2
            digit[0] = UInt8(ascii: "0") + pair / 10
            digit[1] = UInt8(ascii: "0") + pair % 10
        }
        if magnitude >= 10 {
            let pair = UInt8(truncatingIfNeeded: magnitude)
            digit -= 2
            digit[0] = UInt8(ascii: "0") + pair / 10
            digit[1] = UInt8(ascii: "0") + pair % 10
        } else {
            digit -= 1
            digit[0] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: magnitude)
        }
        return width
    }
}
