import Testing

@testable import LockEngine

/// A token of 32 characters is kept as its text's bytes: every such text is
/// one token, equal (and hashed alike) only to itself, and written back
/// character for character; a server-made one is 32 random characters of
/// the base64url alphabet.
@Suite struct TokenTextTests {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// Every character of the alphabet, at every place.
    @Test func everyCharacterRoundTrips() throws {
        for start in stride(from: 0, to: 64, by: 8) {
            let text = String(decoding: (0..<32).map { Self.alphabet[(start + $0 * 5) % 64] }, as: UTF8.self)
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

    /// Random texts come back as they were, and two texts that differ in
    /// one place (each of the 32, the last one's own field too) are
    /// different tokens.
    @Test func randomTextsRoundTripAndDifferInEveryPlace() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            let text = (0..<32).map { _ in Self.alphabet[Int.random(in: 0..<64, using: &generator)] }
            let token = try text.withUnsafeBufferPointer { (bytes: UnsafeBufferPointer<UInt8>) throws(LockError) in try LeaseToken(utf8: bytes) }
            #expect(Array(token.value.utf8) == text)
            let place = Int.random(in: 0..<32, using: &generator)
            var other = text
            other[place] = other[place] == UInt8(ascii: "A") ? UInt8(ascii: "_") : UInt8(ascii: "A")
            let otherToken = try LeaseToken(String(decoding: other, as: UTF8.self))
            #expect(otherToken != token)
            #expect(Array(otherToken.value.utf8) == other)
        }
        let base = Array(LeaseToken.random().value.utf8)
        for place in 0..<32 {
            var other = base
            other[place] = other[place] == UInt8(ascii: "z") ? UInt8(ascii: "y") : UInt8(ascii: "z")
            #expect(try LeaseToken(String(decoding: other, as: UTF8.self)) != (try LeaseToken(String(decoding: base, as: UTF8.self))))
        }
    }

    /// Every byte value at every one of the 32 places: the text is a token
    /// exactly when the byte is in the alphabet (checked eight bytes at a
    /// time, so each place of each word is tried).
    @Test func everyByteAtEveryPlaceIsCheckedAsTheAlphabetSays() {
        let valid = Array(LeaseToken.random().value.utf8)
        let allowed = Set(Self.alphabet)
        for place in 0..<32 {
            for byte in UInt8.min...UInt8.max {
                var text = valid
                text[place] = byte
                let token = text.withUnsafeBufferPointer { LeaseToken(checking: $0) }
                #expect((token != nil) == allowed.contains(byte), "byte \(byte) at \(place)")
                if let token { #expect(Array(token.value.utf8) == text) }
                // The same text as the four words a `Lock-Token` header is read into.
                let fromWords = LeaseToken(characters: Self.words(text))
                #expect((fromWords != nil) == allowed.contains(byte), "byte \(byte) at \(place), as words")
                #expect(fromWords == token)
                if let fromWords { #expect(Array(fromWords.value.utf8) == text) }
            }
        }
    }

    /// 32 bytes as four words, each loaded little-endian (character `i` in byte `i % 8` of word `i / 8`).
    static func words(_ text: [UInt8]) -> (UInt64, UInt64, UInt64, UInt64) {
        func word(_ index: Int) -> UInt64 {
            (0..<8).reduce(UInt64(0)) { $0 | UInt64(text[index * 8 + $1]) << UInt64($1 * 8) }
        }
        return (word(0), word(1), word(2), word(3))
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

    /// A random token's text is a token's text: a client sending it back
    /// names the same token.
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

    /// Each byte's low six bits become the alphabet's character of that
    /// value, at every place of the word, whatever its two high bits.
    @Test func sextetsBecomeTheAlphabetsCharacters() {
        for value in 0..<64 {
            for high in [0, 0x40, 0x80, 0xC0] {
                for place in 0..<8 {
                    // The other bytes hold other values, so a carry or borrow between bytes shows.
                    var word: UInt64 = 0
                    for other in 0..<8 {
                        let byte = other == place ? UInt64(value | high) : UInt64((value + 37 * other + 11) & 0xFF)
                        word |= byte << UInt64(8 * other)
                    }
                    let characters = LeaseToken.characters(word)
                    for other in 0..<8 {
                        let byte = Int(word >> UInt64(8 * other) & 0xFF)
                        #expect(UInt8(truncatingIfNeeded: characters >> UInt64(8 * other)) == Self.alphabet[byte & 0x3F])
                    }
                }
            }
        }
    }

    /// Server-made tokens are 32 characters, distinct, and use the whole
    /// alphabet at every place (2 000 tokens: each character is expected
    /// ~31 times at each place; that one never shows is below 10^-11).
    @Test func randomTokensUseTheWholeAlphabetAtEveryPlace() {
        var seen = [Set<UInt8>](repeating: [], count: 32)
        var texts = Set<String>()
        for _ in 0..<2_000 {
            let text = LeaseToken.random().value
            #expect(text.utf8.count == 32)
            texts.insert(text)
            for (place, byte) in text.utf8.enumerated() { seen[place].insert(byte) }
        }
        #expect(texts.count == 2_000)
        #expect(seen.allSatisfy { $0 == Set(Self.alphabet) })
    }
}
