import Testing

@testable import LockdAPI

/// `JSONCursor.escapedExtra` reads eight bytes at a time (wip-api33): for
/// every byte value at every place of every length up to three words and
/// a half, it says what the byte-by-byte count says, and a lease's owner
/// that needs escapes is written escaped.
@Suite struct EscapedExtraTests {
    @Test(arguments: Array(0...28))
    func everyByteAtEveryPlaceCountsAsByteByByte(_ length: Int) {
        let plain = (0..<length).map { UInt8(ascii: "a") + UInt8($0 % 26) }
        for place in 0..<max(length, 1) where length > 0 {
            for byte in UInt8.min...UInt8.max {
                var text = plain
                text[place] = byte
                text.withUnsafeBufferPointer { utf8 in
                    #expect(JSONCursor.escapedExtra(utf8) == JSONCursor.escapedExtraByBytes(utf8), "byte \(byte) at \(place) of \(length)")
                }
            }
        }
        plain.withUnsafeBufferPointer { #expect(JSONCursor.escapedExtra($0) == 0) }
    }

    /// Texts with several escapes, in the same word and in others.
    @Test func severalEscapesAreAllCounted() {
        for text in ["\"\"\"\"\"\"\"\"\"", "ab\\cd\u{01}ef\"gh\n", "0123456789abcde\u{1F}", "é\"ü\\ñ\u{7F}\u{80}xyzw", String(repeating: "\t", count: 17)] {
            var text = text
            text.withUTF8 { utf8 in
                #expect(JSONCursor.escapedExtra(utf8) == JSONCursor.escapedExtraByBytes(utf8), "\(Array(utf8))")
                #expect(JSONCursor.escapedExtra(utf8) > 0)
            }
        }
    }
}
