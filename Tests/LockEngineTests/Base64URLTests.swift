import Testing

@testable import LockEngine

@Suite struct Base64URLTests {
    /// RFC 4648 §10's vectors (without padding), and the URL alphabet's two
    /// characters of its own.
    @Test(arguments: [
        ("", ""), ("f", "Zg"), ("fo", "Zm8"), ("foo", "Zm9v"), ("foob", "Zm9vYg"), ("fooba", "Zm9vYmE"), ("foobar", "Zm9vYmFy"),
    ])
    func encodesTheStandardVectors(_ input: String, _ expected: String) {
        #expect(Array(input.utf8).withUnsafeBytes { Base64URL.encode($0) } == expected)
    }

    @Test func usesDashAndUnderscore() {
        #expect([UInt8]([0xFB, 0xFF, 0xBF]).withUnsafeBytes { Base64URL.encode($0) } == "-_-_")
    }

    /// The unrolled writer of a 24-byte token against the general one: each
    /// single bit set (so every character's place, the straddling ones
    /// too), all zeros and ones, and random words.
    @Test func theUnrolledTokenWriterWritesWhatTheGeneralOneDoes() {
        var cases: [(UInt64, UInt64, UInt64)] = [(0, 0, 0), (.max, .max, .max)]
        for bit in 0..<64 {
            cases += [(1 << UInt64(bit), 0, 0), (0, 1 << UInt64(bit), 0), (0, 0, 1 << UInt64(bit))]
        }
        var generator = SystemRandomNumberGenerator()
        cases += (0..<1_000).map { _ in (generator.next(), generator.next(), generator.next()) }
        for words in cases {
            let general = withUnsafeBytes(of: words) { Base64URL.encode($0) }
            let unrolled = [UInt8](unsafeUninitializedCapacity: 32) { buffer, count in
                Base64URL.encode24(words, to: buffer.baseAddress!)
                count = 32
            }
            #expect(String(decoding: unrolled, as: UTF8.self) == general)
        }
    }
}

/// A token of 32 characters is kept as the 24 bytes they encode: every
/// such text is one token, equal (and hashed alike) only to itself, and
/// written back character for character.
@Suite struct TokenAsBytesTests {
    @Test func decodingGivesBackTheBytesEncoded() throws {
        let bytes = (0..<24).map { UInt8($0 * 10 + 3) }
        let text = bytes.withUnsafeBytes { Base64URL.encode($0) }
        let words = try #require(Array(text.utf8).withUnsafeBufferPointer { Base64URL.decode24($0) })
        let decoded = withUnsafeBytes(of: words) { Array($0) }
        #expect(decoded == bytes)
    }

    /// Every character of the alphabet, at every position of a group.
    @Test func everyCharacterRoundTrips() throws {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        for start in stride(from: 0, to: 64, by: 8) {
            let text = String((0..<32).map { alphabet[(start + $0 * 5) % 64] })
            let token = try LeaseToken(text)
            #expect(token.value == text)
            #expect(token.count == 32)
            #expect(token.withUTF8 { String(decoding: $0, as: UTF8.self) } == text)
            let written = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { buffer in
                String(decoding: UnsafeBufferPointer(start: buffer.baseAddress, count: token.write(to: buffer.baseAddress!)), as: UTF8.self)
            }
            #expect(written == text)
            #expect(token == (try LeaseToken(String(text))))
            #expect(token.hashValue == (try LeaseToken(String(text))).hashValue)
        }
    }

    /// Random bytes come back from their text; a character outside the
    /// alphabet at any of the 32 places (each read into one of three
    /// words, two straddling them) refuses the text.
    @Test func randomBytesRoundTripAndEveryPlaceIsChecked() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            let bytes = (0..<24).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let text = Array(bytes.withUnsafeBytes { Base64URL.encode($0) }.utf8)
            let words = try #require(text.withUnsafeBufferPointer { Base64URL.decode24($0) })
            #expect(withUnsafeBytes(of: words) { Array($0) } == bytes)
        }
        let valid = Array(LeaseToken.random().value.utf8)
        for place in 0..<32 {
            for wrong in [UInt8(ascii: "+"), UInt8(ascii: "="), 0x80, 0xFF, 0] {
                var text = valid
                text[place] = wrong
                #expect(text.withUnsafeBufferPointer { Base64URL.decode24($0) } == nil)
            }
        }
    }

    @Test(arguments: ["0123456789abcdef0123456789abcde+", "0123456789abcdef0123456789abcd=A", "0123456789abcdef 123456789abcdef", "ümlaut6789abcdef0123456789abcde"])
    func malformedOf32BytesAreRefused(_ text: String) {
        #expect(throws: LockError.self) { try LeaseToken(text) }
    }

    /// A token read from bytes (a header's) is the token read from its text, whatever its length.
    @Test(arguments: [22, 31, 32, 33, 128])
    func aTokenFromBytesIsTheTokenFromText(_ length: Int) throws {
        let text = String(String(repeating: LeaseToken.random().value, count: 4).prefix(length))
        let fromBytes = try Array(text.utf8).withUnsafeBufferPointer { (bytes: UnsafeBufferPointer<UInt8>) throws(LockError) in try LeaseToken(utf8: bytes) }
        #expect(fromBytes == (try LeaseToken(text)))
        #expect(fromBytes.value == text)
        for bad in [text + "=", String(text.dropLast()) + "+", String(text.prefix(21))] {
            #expect(throws: LockError.self) { try Array(bad.utf8).withUnsafeBufferPointer { (bytes: UnsafeBufferPointer<UInt8>) throws(LockError) in try LeaseToken(utf8: bytes) } }
        }
    }

    /// A random token's text is the bytes' text: a client sending it back
    /// names the same token, whatever form each side keeps.
    @Test func aRandomTokenIsItsText() throws {
        for _ in 0..<100 {
            let token = LeaseToken.random()
            let again = try LeaseToken(token.value)
            #expect(again == token && again.hashValue == token.hashValue)
            let longer = try LeaseToken(token.value + "A")
            #expect(longer != token && token != longer)
            #expect(longer.count == 33)
        }
    }
}
