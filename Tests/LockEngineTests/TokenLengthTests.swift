import Testing

@testable import LockEngine

/// A token of 22–32 characters (the SDK's 22, a UUID's 32 hex) is kept in
/// words like a server-made one, and a longer one as its bytes; every length
/// reads, checks, writes and compares exactly as its text says.
@Suite struct TokenLengthTests {
    static let alphabet = TokenTextTests.alphabet

    static func text(_ length: Int, seed: Int = 0) -> [UInt8] {
        (0..<length).map { alphabet[($0 * 7 + seed * 13 + 3) % 64] }
    }

    static func token(_ text: [UInt8]) -> LeaseToken? {
        text.withUnsafeBufferPointer { LeaseToken(checking: $0) }
    }

    /// The words a `Lock-Token` header of `text` is copied into: its bytes, then zeros.
    static func headerWords(_ text: [UInt8]) -> (UInt64, UInt64, UInt64, UInt64) {
        func word(_ index: Int) -> UInt64 {
            (0..<8).reduce(UInt64(0)) { word, place in
                let at = index * 8 + place
                return at < text.count ? word | UInt64(text[at]) << UInt64(place * 8) : word
            }
        }
        return (word(0), word(1), word(2), word(3))
    }

    /// 22–32 characters are kept in words, a longer token as its bytes.
    @Test(arguments: Array(22...40) + [43, 127, 128])
    func aTokenUpTo32CharactersIsKeptInWords(_ length: Int) throws {
        let token = try #require(Self.token(Self.text(length)))
        switch token.form {
        case .characters: #expect(length <= 32)
        case .long: #expect(length > 32)
        }
    }

    /// Every length reads back as its text: its count, its UTF-8, its
    /// value, and what ``LeaseToken/write(to:)`` writes — never a byte past
    /// the text (the bytes after it keep what they held).
    @Test(arguments: Array(22...40) + [43, 127, 128])
    func everyLengthWritesItsTextAndNoMore(_ length: Int) throws {
        for seed in 0..<8 {
            let text = Self.text(length, seed: seed)
            let token = try #require(Self.token(text))
            #expect(token.count == length)
            #expect(token.room == max(length, 32), "room for the words, or the text")
            #expect(token.withUTF8 { Array($0) } == text)
            #expect(Array(token.value.utf8) == text)
            let guardBytes = 24
            var buffer = [UInt8](repeating: 0xA5, count: length + guardBytes)
            let written = buffer.withUnsafeMutableBufferPointer { token.write(to: $0.baseAddress!) }
            #expect(written == length)
            #expect(Array(buffer[..<length]) == text)
            #expect(buffer[length...].allSatisfy { $0 == 0xA5 }, "wrote past \(length) characters")
        }
    }

    /// Every byte value at every place of every length kept in words: the
    /// text is a token exactly when the byte is in the alphabet, read from
    /// bytes, and from a header's zero-padded words.
    @Test(arguments: Array(22...32))
    func everyByteAtEveryPlaceOfEveryLength(_ length: Int) throws {
        let valid = Self.text(length)
        let allowed = Set(Self.alphabet)
        for place in 0..<length {
            for byte in UInt8.min...UInt8.max {
                var text = valid
                text[place] = byte
                let token = Self.token(text)
                #expect((token != nil) == allowed.contains(byte), "byte \(byte) at \(place) of \(length)")
                let fromHeader = LeaseToken(characters: Self.headerWords(text), count: length)
                #expect((fromHeader != nil) == allowed.contains(byte), "byte \(byte) at \(place) of \(length), as a header's words")
                #expect(fromHeader == token)
                if let token, let fromHeader {
                    #expect(Array(token.value.utf8) == text)
                    #expect(fromHeader.hashValue == token.hashValue)
                }
            }
        }
    }

    /// Bytes past `count` in a header's words are not read as the token's.
    @Test func aHeadersWordsPastItsCountAreIgnored() throws {
        let text = Self.text(22)
        var words = Self.headerWords(text)
        words.2 |= 0xFFFF_0000_0000_0000
        words.3 = 0x4141_4141_4141_4141
        let token = try #require(LeaseToken(characters: words, count: 22))
        #expect(token == Self.token(text))
        #expect(Array(token.value.utf8) == text)
        #expect(token.count == 22)
    }

    /// A header's words of a count out of 22–32 are no token.
    @Test(arguments: [0, 1, 21, 33, 64])
    func aHeadersWordsOfAnotherCountAreNoToken(_ count: Int) {
        #expect(LeaseToken(characters: Self.headerWords(Self.text(32)), count: count) == nil)
    }

    /// `read` gives words for 22–32 characters only, with zeros past the text.
    @Test(arguments: Array(0...40) + [128, 129])
    func readGivesWordsForUpTo32Characters(_ length: Int) {
        let (valid, words) = Self.text(length).withUnsafeBufferPointer { LeaseToken.read($0) }
        #expect(valid == (22...128).contains(length))
        #expect((words != nil) == (22...32).contains(length))
        if let words {
            #expect(words.0 != 0)
            let bytes = withUnsafeBytes(of: (words.0.littleEndian, words.1.littleEndian, words.2.littleEndian, words.3.littleEndian)) { Array($0) }
            #expect(Array(bytes[..<length]) == Self.text(length))
            #expect(bytes[length...].allSatisfy { $0 == 0 })
        }
    }

    /// Tokens of two lengths are different tokens, a prefix included, in
    /// either order; a token equals itself read any way, and hashes alike.
    @Test func tokensOfTwoLengthsDiffer() throws {
        let long = Self.text(40)
        for length in 22...40 {
            let token = try #require(Self.token(Array(long[..<length])))
            #expect(token == (try LeaseToken(String(decoding: long[..<length], as: UTF8.self))))
            #expect(token.hashValue == (try LeaseToken(String(decoding: long[..<length], as: UTF8.self))).hashValue)
            for other in 22...40 where other != length {
                let otherToken = try #require(Self.token(Array(long[..<other])))
                #expect(token != otherToken && otherToken != token, "\(length) against \(other)")
            }
        }
    }

    /// A longer token is checked eight bytes at a time, its tail where it
    /// ends: a byte out of the alphabet anywhere refuses it.
    @Test(arguments: [33, 36, 39, 40, 41, 43, 64, 127, 128])
    func aLongerTokenRefusesAStrayByteAnywhere(_ length: Int) {
        let valid = Self.text(length)
        #expect(Self.token(valid) != nil)
        for place in 0..<length {
            for byte: UInt8 in [0, UInt8(ascii: "+"), UInt8(ascii: "="), UInt8(ascii: " "), UInt8(ascii: "/"), 0x80, 0xFF, UInt8(ascii: "{")] {
                var text = valid
                text[place] = byte
                #expect(Self.token(text) == nil, "byte \(byte) at \(place) of \(length)")
            }
        }
    }

    /// A token made from an array of its bytes (a `Lock-Token` header of
    /// 33–128 characters) is the token its bytes read as, of every length;
    /// bytes that are no token are refused alike.
    @Test(arguments: Array(0...40) + [43, 64, 127, 128, 129])
    func aTokenFromAnArrayIsTheTokenItsBytesAre(_ length: Int) throws {
        for seed in 0..<4 {
            let text = Self.text(length, seed: seed)
            let fromArray = LeaseToken(bytes: text)
            #expect(fromArray == Self.token(text))
            #expect((fromArray != nil) == (22...128).contains(length))
            if let fromArray {
                #expect(fromArray.hashValue == Self.token(text)?.hashValue)
                #expect(fromArray.withUTF8 { Array($0) } == text)
                #expect(fromArray.count == length)
            }
            if length >= 22, length <= 128 {
                var stray = text
                stray[(seed * 11) % length] = UInt8(ascii: "=")
                #expect(LeaseToken(bytes: stray) == nil)
            }
        }
    }

    /// Two longer tokens are equal only when every byte is: one differing
    /// at any place, by any other character of the alphabet, is another
    /// token (the constant-time compare reads each byte, the tail's too).
    @Test(arguments: [33, 36, 41, 43, 127, 128])
    func longerTokensDifferingAtAnyPlaceAreUnequal(_ length: Int) throws {
        let text = Self.text(length)
        let token = try #require(Self.token(text))
        #expect(token == (try #require(Self.token(text))))
        for place in 0..<length {
            for byte in [UInt8(ascii: "A"), UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "9")] where byte != text[place] {
                var other = text
                other[place] = byte
                let otherToken = try #require(Self.token(other))
                #expect(token != otherToken && otherToken != token, "\(length) characters, byte \(byte) at \(place)")
            }
        }
    }

    /// Fewer than 22 or more than 128 characters are no token, of the alphabet or not.
    @Test(arguments: [0, 1, 8, 16, 21, 129, 200])
    func lengthsOutOfRangeAreNoToken(_ length: Int) {
        #expect(Self.token(Self.text(length)) == nil)
        #expect(throws: LockError.self) { try LeaseToken(String(decoding: Self.text(length), as: UTF8.self)) }
    }

    /// A token's size stays four words: every live lease keeps one.
    @Test func aTokenStaysFourWords() {
        #expect(MemoryLayout<LeaseToken>.size == 32)
    }
}
