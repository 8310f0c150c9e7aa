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
    /// bytes) and returns how many bytes it wrote. Its width from its
    /// highest bit and one comparison with a power of ten; then two digits
    /// per division, each pair copied from a table of "00" to "99". (The
    /// width counted by multiplying until past the value, and each pair's
    /// digits by two more divisions, cost a lease's three numbers ~430
    /// instructions, its 16-digit fence the most.)
    static func write(_ value: Int64, to position: UnsafeMutablePointer<UInt8>) -> Int {
        // One digit (a lease's limit, nearly always 1) needs no width.
        if UInt64(bitPattern: value) < 10 {
            position.pointee = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: value)
            return 1
        }
        // The magnitude as unsigned, so Int64.min needs no special case.
        var magnitude = value.magnitude
        let sign = value < 0 ? 1 : 0
        if sign == 1 { position.pointee = UInt8(ascii: "-") }
        let width = sign + digitCount(magnitude)
        var digit = position + width
        let pairs = digitPairs.utf8Start
        while magnitude >= 100 {
            let pair = Int(truncatingIfNeeded: magnitude % 100)
            magnitude /= 100
            digit -= 2
            digit[0] = pairs[2 * pair]
            digit[1] = pairs[2 * pair + 1]
        }
        if magnitude >= 10 {
            let pair = Int(truncatingIfNeeded: magnitude)
            digit -= 2
            digit[0] = pairs[2 * pair]
            digit[1] = pairs[2 * pair + 1]
        } else {
            digit -= 1
            digit[0] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: magnitude)
        }
        return width
    }

    /// How many decimal digits `value` has (1 for 0). `bits × 1233 >> 12`
    /// is ⌊bits × log10 2⌋ for 1–64 bits: the digits of 2^(bits−1), one
    /// short when `value` reaches the next power of ten.
    static func digitCount(_ value: UInt64) -> Int {
        let bits = UInt64.bitWidth - (value | 1).leadingZeroBitCount
        let guess = (bits &* 1233) >> 12
        return guess + (value >= powerOfTen(guess) ? 1 : 0) + (value == 0 ? 1 : 0)
    }

    /// 10^`exponent`, 0 ≤ `exponent` ≤ 19.
    private static func powerOfTen(_ exponent: Int) -> UInt64 {
        switch exponent {
        case 0: 1
        case 1: 10
        case 2: 100
        case 3: 1_000
        case 4: 10_000
        case 5: 100_000
        case 6: 1_000_000
        case 7: 10_000_000
        case 8: 100_000_000
        case 9: 1_000_000_000
        case 10: 10_000_000_000
        case 11: 100_000_000_000
        case 12: 1_000_000_000_000
        case 13: 10_000_000_000_000
        case 14: 100_000_000_000_000
        case 15: 1_000_000_000_000_000
        case 16: 10_000_000_000_000_000
        case 17: 100_000_000_000_000_000
        case 18: 1_000_000_000_000_000_000
        default: 10_000_000_000_000_000_000
        }
    }

    /// "00", "01", … "99" in a row: pair `n` at bytes `2n` and `2n + 1`.
    private static var digitPairs: StaticString {
        """
        0001020304050607080910111213141516171819202122232425262728293031323334353637383940414243444546474849\
        5051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899
        """
    }
}
