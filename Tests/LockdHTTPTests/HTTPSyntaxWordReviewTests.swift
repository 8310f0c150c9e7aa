import LockdTestSupport
import Testing

@testable import LockdHTTP

/// The word-at-a-time helpers against byte-at-a-time references on random
/// words and names (several odd bytes in one word, not only one among a fill).
@Suite struct HTTPSyntaxWordReviewTests {
    static let mix: [UInt8] = [0x00, 0x0D, 0x20, 0x21, 0x23, 0x2D, 0x2F, 0x30, 0x3A, 0x3F, 0x40, 0x41, 0x5A, 0x5B, 0x5F,
                               0x60, 0x61, 0x7A, 0x7B, 0x7E, 0x7F, 0x80, 0xAD, 0xC1, 0xDA, 0xE1, 0xFF]

    static func randomWord(_ random: inout SplitMix64) -> [UInt8] {
        (0..<8).map { _ in random.next() % 2 == 0 ? mix[Int(random.next() % UInt64(mix.count))] : UInt8(truncatingIfNeeded: random.next()) }
    }

    @Test func randomWordsAreFlaggedByteByByte() {
        var random = SplitMix64(seed: 0x5EED)
        var mismatches = 0
        for _ in 0..<300_000 {
            let bytes = Self.randomWord(&random)
            let word = bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
            var names: UInt64 = 0, targets: UInt64 = 0
            for (index, byte) in bytes.enumerated() {
                let letterOrHyphen = (byte | 0x20 >= 0x61 && byte | 0x20 <= 0x7A && byte < 0x80) || byte == 0x2D
                if !letterOrHyphen { names |= 0x80 << (8 * UInt64(index)) }
                if !(HTTPSyntax.isTargetByte(byte) && byte != 0x23 && byte != 0x3F) { targets |= 0x80 << (8 * UInt64(index)) }
            }
            if HTTPSyntax.notLetterOrHyphen(word) != names || HTTPSyntax.notPlainTargetBytes(word) != targets { mismatches += 1 }
        }
        #expect(mismatches == 0)
    }

    /// Tokens of 0...24 bytes (every length around 8 and 16) against each
    /// tracked name, the candidates being the name with random token bytes
    /// or case flips put in, or random tokens.
    @Test func randomTokensCompareAsTheByteComparison() {
        let names: [StaticString] = ["host", "expect", "connection", "content-length", "transfer-encoding", "a", "abcdefg", "abcdefgh", "abcdefghi",
                                     "abcdefghijklmno", "abcdefghijklmnop", "abcdefghijklmnopq", "a-b-c-d-e-f-g-h-i-j-k-l"]
        let tokens = (UInt8.min...UInt8.max).filter(HTTPSyntax.isToken)
        var random = SplitMix64(seed: 0x70CE)
        var mismatches: [String] = []
        var equalSeen = 0
        for name in names {
            let lowercase = Array(UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
            for _ in 0..<20_000 {
                var candidate = lowercase
                switch random.next() % 3 {
                case 0:
                    for index in candidate.indices where random.next() % 2 == 0 && HTTPSyntax.isToken(candidate[index] ^ 0x20) { candidate[index] ^= 0x20 }
                case 1:
                    for _ in 0..<(1 + Int(random.next() % 3)) {
                        candidate[Int(random.next() % UInt64(candidate.count))] = tokens[Int(random.next() % UInt64(tokens.count))]
                    }
                default:
                    candidate = (0..<Int(random.next() % 25)).map { _ in tokens[Int(random.next() % UInt64(tokens.count))] }
                }
                candidate.withUnsafeBytes { bytes in
                    let actual = HTTPSyntax.tokenEqualsIgnoringCase(bytes, name)
                    if actual { equalSeen += 1 }
                    if actual != HTTPSyntax.equalsIgnoringCase(bytes, name) { mismatches.append("\(candidate) vs \(name)") }
                }
            }
        }
        #expect(equalSeen > 1_000)
        #expect(mismatches.isEmpty, "\(mismatches.count): \(mismatches.prefix(5))")
    }
}
