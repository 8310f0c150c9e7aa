#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Byte classes of RFC 9110/9112 grammar, as bit masks and range tests (`package`:
/// modules beside this one, such as compression, parse fields with them too).
package enum HTTPSyntax {
    static let cr: UInt8 = 13
    static let lf: UInt8 = 10
    static let space: UInt8 = 32
    static let tab: UInt8 = 9
    static let colon: UInt8 = 58

    /// `tchar`: the bytes allowed in methods, field names and codings —
    /// ALPHA, DIGIT and ``!#$%&'*+-.^_`|~`` — as a bit per byte below 0x80
    /// (constants: a table behind a global's lazy initializer cost a call
    /// and a bounds check per byte). `HTTPSyntaxTests` checks the masks
    /// against that definition.
    package static func isToken(_ byte: UInt8) -> Bool {
        let low: UInt64 = 0x03FF_6CFA_0000_0000, high: UInt64 = 0x57FF_FFFF_C7FF_FFFE
        return byte < 0x80 && ((byte < 0x40 ? low : high) >> UInt64(byte & 0x3F)) & 1 == 1
    }

    /// The high bit of each byte of `word` that is not an ASCII letter or
    /// `-` — the bytes every common field name is made of — exactly, byte
    /// by byte (no sum carries into the next byte), so the lowest flag is
    /// where such a run ends (`trailingZeroBitCount >> 3`, little-endian).
    /// `HTTPSyntaxTests` checks it against ``isToken(_:)``'s letters and `-`.
    static func notLetterOrHyphen(_ word: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highBits = ones &* 0x80, lowBits = ones &* 0x7F
        // Letters folded to lower case, the high bit dropped so that each
        // byte's sums below stay within it.
        let folded = (word | ones &* 0x20) & lowBits
        let atLeastA = folded &+ ones &* (0x80 - 0x61)
        let aboveZ = folded &+ ones &* (0x7F - 0x7A)
        let letter = atLeastA & ~aboveZ & ~word
        return ~(letter | bytes(of: word, equalTo: UInt8(ascii: "-"))) & highBits
    }

    /// The high bit of each byte of `word` that is not visible ASCII or is
    /// `#` or `?` — every byte of a usual request target's path — exactly,
    /// byte by byte, as ``notLetterOrHyphen(_:)``.
    @inline(__always) static func notPlainTargetBytes(_ word: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highBits = ones &* 0x80, lowBits = ones &* 0x7F
        let low = word & lowBits
        let visible = (low &+ ones &* (0x80 - 0x21)) & ~(low &+ ones) & ~word
        let plain = visible & ~bytes(of: word, equalTo: UInt8(ascii: "#")) & ~bytes(of: word, equalTo: UInt8(ascii: "?"))
        return ~plain & highBits
    }

    /// How many bytes of `bytes` a word scan passes: whole words of eight
    /// (loaded little-endian) while `stops` flags none of their bytes, up to
    /// the first flagged byte of the first word that has one. The tail of
    /// fewer than eight bytes is the caller's, byte by byte.
    @inline(__always) static func leadingRun(of bytes: UnsafeRawBufferPointer, stoppingAt stops: (UInt64) -> UInt64) -> Int {
        var index = 0
        while bytes.count &- index >= 8 {
            let flagged = stops(UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self)))
            if flagged != 0 { return index &+ flagged.trailingZeroBitCount >> 3 }
            index &+= 8
        }
        return index
    }

    /// The high bit of each byte of `word` that is `byte`, exactly (the low
    /// seven bits' sum never carries into the next byte).
    @inline(__always) static func bytes(of word: UInt64, equalTo byte: UInt8) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highBits = ones &* 0x80, lowBits = ones &* 0x7F
        let difference = word ^ ones &* UInt64(byte)
        return ~((difference & lowBits) &+ lowBits | difference) & highBits
    }

    /// The high bit of each byte of `word` that is zero — exact up to the
    /// first zero byte (a borrow may also flag bytes after it), so only
    /// the lowest flag counts.
    @inline(__always) static func zeroBytes(_ word: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        return (word &- ones) & ~word & (ones &* 0x80)
    }

    /// Where the first `byte` in `bytes` is, or nil: the C library's
    /// `memchr`, which reads a word or more at a time (a `firstIndex(of:)`
    /// over the buffer cost ~100 instructions for a request line's method
    /// and target, a test and a branch per byte).
    static func firstIndex(of byte: UInt8, in bytes: UnsafeRawBufferPointer) -> Int? {
        guard let base = bytes.baseAddress, let found = memchr(base, Int32(byte), bytes.count) else { return nil }
        return UnsafeRawPointer(found) - base
    }

    /// Bytes allowed in a field value: HTAB, SP, VCHAR and obs-text.
    static func isFieldValue(_ byte: UInt8) -> Bool {
        byte == tab || (byte >= 0x20 && byte != 0x7F)
    }

    /// Bytes allowed in a request target: visible ASCII only.
    static func isTargetByte(_ byte: UInt8) -> Bool { byte > 0x20 && byte < 0x7F }

    /// Bytes below 0x20 (HTAB, CR and LF included) and DEL: those
    /// ``HTTPRequestDecoder/controlBytes(_:)`` flags.
    static func isControl(_ byte: UInt8) -> Bool { byte < 0x20 || byte == 0x7F }

    /// Control bytes that may never appear in a head outside line ends.
    static func isForbiddenControl(_ byte: UInt8) -> Bool {
        (byte < 0x20 && byte != tab) || byte == 0x7F
    }

    package static func lowercased(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
    }

    /// Each of the eight bytes of `word` as ``lowercased(_:)`` makes it:
    /// bit 0x20 set on exactly the bytes `A`–`Z`. A byte's low seven bits
    /// plus 0x3F reach 0x80 from `A` up, plus 0x25 from `[` up, and no sum
    /// passes 0xBE, so nothing carries into the next byte; a byte with its
    /// own high bit set is never a letter.
    static func lowercased(word: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let low = word & (0x7F * ones)
        let fromA = low &+ (0x80 - 0x41) * ones
        let pastZ = low &+ (0x80 - 0x5B) * ones
        let isUpper = fromA & ~pastZ & ~word & (0x80 * ones)
        return word | isUpper >> 2
    }

    /// Whether `lhs` and `rhs` (of any bytes) are equal ignoring ASCII
    /// case, eight bytes at a time: the comparison of field names by any
    /// name a caller asks for (~12 instructions a byte one at a time).
    static func equalIgnoringASCIICase(_ lhs: UnsafeRawBufferPointer, _ rhs: UnsafeRawBufferPointer) -> Bool {
        let count = lhs.count
        guard count == rhs.count else { return false }
        guard count >= 8 else {
            for index in 0..<count where lowercased(lhs[index]) != lowercased(rhs[index]) { return false }
            return true
        }
        // Whole words, then the last eight bytes (overlapping what was compared).
        var offset = 0
        while true {
            let left = lhs.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            let right = rhs.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            guard left == right || lowercased(word: left) == lowercased(word: right) else { return false }
            if offset == count - 8 { return true }
            offset = min(offset + 8, count - 8)
        }
    }

    static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// Whether `bytes` equals the lowercase ASCII `lowercase`, ignoring case.
    package static func equalsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ lowercase: StaticString) -> Bool {
        // A plain loop: the generic version below (`zip` and `allSatisfy`)
        // cost ~170 instructions a field name.
        guard bytes.count == lowercase.utf8CodeUnitCount else { return false }
        let expected = lowercase.utf8Start
        for index in 0..<bytes.count where lowercased(bytes[index]) != expected[index] { return false }
        return true
    }

    /// ``equalsIgnoringCase(_:_:)`` for a `token` already checked to be
    /// one (a field name), against a `lowercase` of letters and `-` only,
    /// eight bytes at a time. Setting bit 0x20 of each byte lowers a
    /// letter's case, and among token bytes only `-` itself becomes `-` (CR
    /// would, and is no token), so the words compare equal exactly when the
    /// bytes do ignoring case. ~5 instead of ~12 instructions a byte.
    static func tokenEqualsIgnoringCase(_ token: UnsafeRawBufferPointer, _ lowercase: StaticString) -> Bool {
        let count = token.count
        guard count == lowercase.utf8CodeUnitCount else { return false }
        let expected = UnsafeRawBufferPointer(start: lowercase.utf8Start, count: count)
        // Other bytes would compare wrongly (`~` would match a token's `^`).
        assert(expected.allSatisfy { ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) || $0 == UInt8(ascii: "-") },
               "tokenEqualsIgnoringCase takes lower-case letters and '-' only")
        guard count >= 8 else {
            // Four to seven bytes as two words of four (overlapping): `Host`, `Expect`.
            guard count >= 4 else {
                for index in 0..<count where token[index] | 0x20 != expected[index] { return false }
                return true
            }
            let caseBits: UInt32 = 0x2020_2020
            return token.loadUnaligned(as: UInt32.self) | caseBits == expected.loadUnaligned(as: UInt32.self)
                && token.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self) | caseBits
                    == expected.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self)
        }
        let caseBits: UInt64 = 0x2020_2020_2020_2020
        // Whole words, then the last eight bytes (overlapping what was compared).
        var offset = 0
        while true {
            let word = token.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            guard word | caseBits == expected.loadUnaligned(fromByteOffset: offset, as: UInt64.self) else { return false }
            if offset == count - 8 { return true }
            offset = min(offset + 8, count - 8)
        }
    }

    /// ``equalsIgnoringCase(_:_:)`` for any bytes.
    package static func equalsIgnoringCase(_ bytes: some Collection<UInt8>, _ lowercase: StaticString) -> Bool {
        let expected = UnsafeRawBufferPointer(start: lowercase.utf8Start, count: lowercase.utf8CodeUnitCount)
        return bytes.count == expected.count && zip(bytes, expected).allSatisfy { lowercased($0) == $1 }
    }

    /// Whether `bytes` and `other` are the same bytes, compared eight at a
    /// time (the last eight overlapping) in the caller's code: a call out
    /// (`memcmp`) has the caller retain an array whose bytes it lends, and
    /// release it after (~40 instructions).
    @inline(__always)
    static func bytes(_ bytes: UnsafeRawBufferPointer, equal other: UnsafeRawBufferPointer) -> Bool {
        let count = bytes.count
        guard count == other.count else { return false }
        guard count >= 8 else {
            for index in 0..<count where bytes[index] != other[index] { return false }
            return true
        }
        var offset = 0
        while true {
            guard bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self) == other.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            else { return false }
            if offset == count &- 8 { return true }
            offset = Swift.min(offset &+ 8, count &- 8)
        }
    }

    /// Whether `bytes` are exactly `text`'s bytes: one `memcmp` (comparing
    /// with a `String.UTF8View` walks it element by element).
    static func bytes(_ bytes: UnsafeRawBufferPointer, equal text: StaticString) -> Bool {
        guard bytes.count == text.utf8CodeUnitCount else { return false }
        guard let base = bytes.baseAddress else { return true }
        return memcmp(base, text.utf8Start, bytes.count) == 0
    }

    /// Splits a comma-separated list value into its trimmed, non-empty elements (RFC 9110 §5.6.1).
    package static func listElements(_ value: String) -> [Substring] {
        value.split(separator: ",").compactMap { element in
            var trimmed = element
            while let first = trimmed.first, first == " " || first == "\t" { trimmed.removeFirst() }
            while let last = trimmed.last, last == " " || last == "\t" { trimmed.removeLast() }
            return trimmed.isEmpty ? nil : trimmed
        }
    }
}
