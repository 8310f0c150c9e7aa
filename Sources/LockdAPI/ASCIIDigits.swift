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
    /// bytes: it may store past its digits, within that room) and returns
    /// how many bytes it wrote. A value of up to 16 digits — every lease's
    /// number: fence, TTL, limit — is written eight digits at a time
    /// (``eightDigits(_:)``), each group stored as one word; longer and
    /// negative ones by ``writeByPairs(_:to:)``. (Two digits per division,
    /// each pair copied from a table, cost a lease's three numbers ~0.2 k
    /// instructions, its 16-digit fence ~0.13 k of them.)
    static func write(_ value: Int64, to position: UnsafeMutablePointer<UInt8>) -> Int {
        let unsigned = UInt64(bitPattern: value)
        // One digit (a lease's limit, nearly always 1) needs no more.
        if unsigned < 10 {
            position.pointee = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: value)
            return 1
        }
        let raw = UnsafeMutableRawPointer(position)
        if unsigned < 100_000_000 {
            return storeLeading(eightDigits(unsigned), at: raw)
        }
        guard unsigned < 10_000_000_000_000_000 else { return writeByPairs(value, to: position) }
        // 9–16 digits: the high group without its leading zeros, then the low one whole.
        let width = storeLeading(eightDigits(unsigned / 100_000_000), at: raw)
        raw.storeBytes(of: (eightDigits(unsigned % 100_000_000) | asciiZeros).littleEndian, toByteOffset: width, as: UInt64.self)
        return width &+ 8
    }

    /// Each byte "0".
    private static let asciiZeros: UInt64 = 0x3030_3030_3030_3030

    /// The eight decimal digits of `value` (below 10^8, leading zeros
    /// included), one a byte as its number (0–9), the most significant in
    /// the lowest byte — the order of the text in memory. Split in halves
    /// in lanes of one word, each division by a constant done in every
    /// lane by one multiplication (exact below each lane's bound: 10^4
    /// for ÷100 as ×10 486 ≫ 20, 100 for ÷10 as ×103 ≫ 10), no lane's
    /// product reaching the next.
    @inline(__always)
    static func eightDigits(_ value: UInt64) -> UInt64 {
        // Two lanes of 32 bits: the high four digits, the low four.
        var lanes = value / 10_000 | (value % 10_000) << 32
        // Four lanes of 16 bits: pairs of digits.
        let hundreds = (lanes &* 10_486) >> 20 & 0x0000_007F_0000_007F
        lanes = hundreds | (lanes &- hundreds &* 100) << 16
        // Eight lanes of 8 bits: digits.
        let tens = (lanes &* 103) >> 10 & 0x000F_000F_000F_000F
        return tens | (lanes &- tens &* 10) << 8
    }

    /// Stores `digits` (``eightDigits(_:)`` of a nonzero value) at `raw`
    /// as text without its leading zeros, as one word (eight bytes of room
    /// needed); returns how many digits that leaves.
    @inline(__always)
    private static func storeLeading(_ digits: UInt64, at raw: UnsafeMutableRawPointer) -> Int {
        // Leading zeros are the low zero bytes (the value is not 0: one byte is not).
        let zeros = digits.trailingZeroBitCount & ~7
        raw.storeBytes(of: ((digits | asciiZeros) >> UInt64(zeros)).littleEndian, as: UInt64.self)
        return 8 &- zeros >> 3
    }

    /// ``write(_:to:)`` two digits per division, each pair copied from a
    /// table: for negative values and those of more than 16 digits.
    static func writeByPairs(_ value: Int64, to position: UnsafeMutablePointer<UInt8>) -> Int {
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
