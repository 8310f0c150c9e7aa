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

    /// The eight-at-a-time skip over a field name flags exactly the bytes
    /// that are not letters or `-`, whatever byte of the word they are in
    /// and whatever surrounds them, so it never passes over a byte the
    /// token test would stop at.
    @Test func aNameWordFlagsExactlyItsBytesThatAreNotLettersOrHyphens() {
        let isLetterOrHyphen = { (byte: UInt8) in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || byte == UInt8(ascii: "-")
        }
        expectFlags(HTTPSyntax.notLetterOrHyphen, flagging: { !isLetterOrHyphen($0) },
                    amid: [UInt8(ascii: "a"), UInt8(ascii: "Z"), UInt8(ascii: "-"), 0x00, 0x0D, 0x3A, 0x7F, 0x80, 0xFF])
    }

    /// The eight-at-a-time skip over a request target flags exactly the
    /// bytes that are not visible ASCII or are `#` or `?`.
    @Test func aTargetWordFlagsExactlyItsBytesThatAreNotPlainPathBytes() {
        let isPlain = { (byte: UInt8) in byte > 0x20 && byte < 0x7F && byte != UInt8(ascii: "#") && byte != UInt8(ascii: "?") }
        expectFlags(HTTPSyntax.notPlainTargetBytes, flagging: { !isPlain($0) },
                    amid: [UInt8(ascii: "a"), UInt8(ascii: "/"), UInt8(ascii: "~"), 0x00, 0x20, 0x23, 0x3F, 0x7F, 0x80, 0xFF])
    }

    /// Checks that `scan` sets bit 7 of exactly the bytes `flagged` picks:
    /// every byte value at every position of a word filled with each of
    /// `fills`.
    private func expectFlags(_ scan: (UInt64) -> UInt64, flagging flagged: (UInt8) -> Bool, amid fills: [UInt8]) {
        for fill in fills {
            for value in UInt8.min...UInt8.max {
                for position in 0..<8 {
                    var bytes = Array(repeating: fill, count: 8)
                    bytes[position] = value
                    let word = bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
                    var expected: UInt64 = 0
                    for (index, byte) in bytes.enumerated() where flagged(byte) { expected |= 0x80 << (8 * UInt64(index)) }
                    #expect(scan(word) == expected, "byte 0x\(String(value, radix: 16)) at \(position) among 0x\(String(fill, radix: 16))")
                }
            }
        }
    }

    /// The word-at-a-time comparison of a field name agrees with the byte
    /// one for every token byte at every position of each name the decoder
    /// tracks (and for names one byte shorter or longer).
    @Test func tokenNamesCompareAsTheByteComparisonDoes() {
        let names: [StaticString] = ["host", "expect", "connection", "content-length", "transfer-encoding"]
        let tokens = (UInt8.min...UInt8.max).filter(HTTPSyntax.isToken)
        var compared = 0
        for name in names {
            let lowercase = Array(UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
            let upper = lowercase.map { $0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z") ? $0 - 0x20 : $0 }
            var candidates = [lowercase, upper, Array(lowercase.dropLast()), lowercase + [UInt8(ascii: "s")]]
            for position in lowercase.indices {
                for byte in tokens {
                    var candidate = position % 2 == 0 ? lowercase : upper
                    candidate[position] = byte
                    candidates.append(candidate)
                }
            }
            for candidate in candidates {
                candidate.withUnsafeBytes { bytes in
                    compared += 1
                    #expect(HTTPSyntax.tokenEqualsIgnoringCase(bytes, name) == HTTPSyntax.equalsIgnoringCase(bytes, name), "\(candidate) against \(name)")
                }
            }
        }
        #expect(compared > 3_000)
    }
}
