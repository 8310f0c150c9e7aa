/// Byte classes of RFC 9110/9112 grammar, as lookup tables (`package`:
/// modules beside this one, such as compression, parse fields with them too).
package enum HTTPSyntax {
    static let cr: UInt8 = 13
    static let lf: UInt8 = 10
    static let space: UInt8 = 32
    static let tab: UInt8 = 9
    static let colon: UInt8 = 58

    /// `tchar`: the bytes allowed in methods, field names and codings.
    private static let tokenTable: [Bool] = (0..<256).map { byte in
        switch UInt8(byte) {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(UInt8(byte))
        }
    }

    package static func isToken(_ byte: UInt8) -> Bool { tokenTable[Int(byte)] }

    /// Bytes allowed in a field value: HTAB, SP, VCHAR and obs-text.
    static func isFieldValue(_ byte: UInt8) -> Bool {
        byte == tab || (byte >= 0x20 && byte != 0x7F)
    }

    /// Bytes allowed in a request target: visible ASCII only.
    static func isTargetByte(_ byte: UInt8) -> Bool { byte > 0x20 && byte < 0x7F }

    /// Control bytes that may never appear in a head outside line ends.
    static func isForbiddenControl(_ byte: UInt8) -> Bool {
        (byte < 0x20 && byte != tab) || byte == 0x7F
    }

    package static func lowercased(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
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
    package static func equalsIgnoringCase(_ bytes: some Collection<UInt8>, _ lowercase: StaticString) -> Bool {
        let expected = UnsafeRawBufferPointer(start: lowercase.utf8Start, count: lowercase.utf8CodeUnitCount)
        return bytes.count == expected.count && zip(bytes, expected).allSatisfy { lowercased($0) == $1 }
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

    /// Appends `value`'s digits (lowercase hex for radix 16) in one piece:
    /// written backwards into stack space first, since appending digit by
    /// digit and reversing the slice cost ~0.5 k instructions a number.
    static func appendDigits(_ value: UInt64, radix: UInt64 = 10, to buffer: inout [UInt8]) {
        var digits: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)  // 64 bytes: any radix ≥ 2
        withUnsafeMutableBytes(of: &digits) { scratch in
            var start = scratch.count
            var rest = value
            repeat {
                let digit = UInt8(truncatingIfNeeded: rest % radix)
                start -= 1
                scratch[start] = digit < 10 ? UInt8(ascii: "0") + digit : UInt8(ascii: "a") + digit - 10
                rest /= radix
            } while rest > 0
            buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[start...]))
        }
    }
}
