import Testing

@testable import LockdHTTP

/// The byte classes' bit masks say what RFC 9110's grammar says.
@Suite struct HTTPSyntaxTests {
    @Test func tokenBytesAreAlphaDigitAndTheFifteenMarks() {
        let marks = Set("!#$%&'*+-.^_`|~".utf8)
        for byte in UInt8.min...UInt8.max {
            let isAlpha = (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            let isDigit = (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
            #expect(HTTPSyntax.isToken(byte) == (isAlpha || isDigit || marks.contains(byte)), "byte 0x\(String(byte, radix: 16))")
        }
    }
}
