import LockdTestSupport
import Testing

@testable import LockdHTTP

/// wip-http32: a plain field line's name and value are scanned sixteen
/// bytes at a time (``HTTPSyntax/leadingRun(of:from:stoppingAt:inWords:)``),
/// then eight, then byte by byte. Names and values of 1–40 bytes — across
/// every lane and word boundary — with a byte that matters (control bytes,
/// HTAB, CR, LF, SP, `:`, DEL, obs-text, a digit, a token mark) put at
/// every position of the name or the value, and lines cut short or ended
/// with a bare CR or LF, decode whole exactly as fed a byte at a time
/// (which goes the general way): the same request, or the same error.
@Suite struct PlainFieldLineLanesTests {
    static let specials: [UInt8] = [0x00, 0x09, 0x0A, 0x0D, 0x1F, 0x20, 0x21, 0x2C, 0x2D, 0x30, 0x3A, 0x5E, 0x7E, 0x7F, 0x80, 0xC3, 0xFF]

    static func heads() -> [[UInt8]] {
        var heads: [[UInt8]] = []
        var random = SplitMix64(seed: 0x1A7E5)
        for length in 1...40 {
            let name = (0..<length).map { index -> UInt8 in
                let letters = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-".utf8)
                return index == 0 ? UInt8(ascii: "X") : letters[Int(random.next() % UInt64(letters.count))]
            }
            let value = (0..<length).map { _ in UInt8(truncatingIfNeeded: 0x21 + random.next() % 0x5E) }
            let prefix = Array("POST /p HTTP/1.1\r\nHost: h\r\n".utf8)
            let suffix = Array("\r\nContent-Length: 3\r\n\r\nabc".utf8)
            heads.append(prefix + name + Array(": ".utf8) + value + suffix)
            for position in 0..<length {
                // Six of the bytes at each position (all of them over the lengths).
                for pick in 0..<6 {
                    let special = specials[(position * 6 + pick + length) % specials.count]
                    var mutatedName = name
                    mutatedName[position] = special
                    heads.append(prefix + mutatedName + Array(": ".utf8) + value + suffix)
                    var mutatedValue = value
                    mutatedValue[position] = special
                    heads.append(prefix + name + Array(":".utf8) + mutatedValue + suffix)
                    heads.append(prefix + name + Array(":\t ".utf8) + mutatedValue + Array("  ".utf8) + suffix)
                }
            }
            // Cut short, a bare CR or LF ending the line, an empty value.
            heads.append(prefix + name + Array(": ".utf8) + value)
            heads.append(prefix + name + Array(": ".utf8) + value + Array("\r".utf8))
            heads.append(prefix + name + Array(": ".utf8) + value + Array("\nX: y\r\n\r\n".utf8))
            heads.append(prefix + name + Array(": ".utf8) + value + Array("\rX: y\r\n\r\n".utf8))
            heads.append(prefix + name + Array(":".utf8) + suffix)
        }
        return heads
    }

    @Test func aWholeLineDecodesAsOneFedByteByByte() {
        var mismatches: [String] = []
        var compared = 0
        for head in Self.heads() {
            compared += 1
            let whole = HTTPHeadOutcomeCorpusTests.describe(head, cuts: [])
            let byByte = HTTPHeadOutcomeCorpusTests.describe(head, cuts: Array(1..<head.count))
            if whole.components(separatedBy: " pending=")[0] != byByte.components(separatedBy: " pending=")[0] {
                mismatches.append("\(String(decoding: head, as: UTF8.self).debugDescription): \(whole) vs \(byByte)")
            }
        }
        #expect(compared > 12_000)
        #expect(mismatches.isEmpty, "\(mismatches.count): \(mismatches.prefix(5))")
    }
}
