import LockdTestSupport
import Testing

@testable import LockdHTTP

/// A usual field line is read in blocks of sixteen bytes
/// (``PartialHead/usualFieldLine(_:from:limit:)``); where it answers, it
/// must find what the one-pass line of session 24–26 found
/// (``PartialHead/addPlainFieldLine(_:from:limit:maxCount:fault:)``, kept
/// here byte by byte as the reference): the same colon, value and CR —
/// and it must answer for the usual lines, or nothing is saved.
@Suite struct UsualFieldLineTests {
    /// The one-pass line's offsets, from its definition: a token name, `:`,
    /// any SP or HTAB, a value up to the first control byte, which must be
    /// CR followed by LF, at most `limit` bytes from `start`; trailing SP
    /// trimmed. Nil for any other line.
    /// (`at`: where the line starts in the buffer read, which the answer carries.)
    static func reference(_ input: [UInt8], from start: Int, limit: Int, at line: UnsafeRawPointer) -> UsualFieldLine? {
        let count = input.count - start
        func at(_ index: Int) -> UInt8 { input[start + index] }
        var colon = 0
        while colon < count, HTTPSyntax.isToken(at(colon)) { colon += 1 }
        guard colon > 0, colon < count, at(colon) == UInt8(ascii: ":") else { return nil }
        var valueStart = colon + 1
        while valueStart < count, at(valueStart) == 0x20 || at(valueStart) == 0x09 { valueStart += 1 }
        var end = valueStart
        while end < count, !(at(end) < 0x20 || at(end) == 0x7F) { end += 1 }
        guard end + 1 < count, at(end) == 0x0D, at(end + 1) == 0x0A, end <= limit else { return nil }
        var valueEnd = end
        while valueEnd > valueStart, at(valueEnd - 1) == 0x20 { valueEnd -= 1 }
        return UsualFieldLine(start: line, colon: colon, valueStart: valueStart, valueEnd: valueEnd, end: end)
    }

    /// Bytes that matter to a name, a value or a line's end.
    static let specials: [UInt8] = [0x00, 0x09, 0x0A, 0x0D, 0x1F, 0x20, 0x21, 0x2D, 0x30, 0x3A, 0x40, 0x5B, 0x60, 0x7B, 0x7F, 0x80, 0xFF]

    /// What follows a line: its end, the head's end, a body, or the input's end.
    static let tails: [[UInt8]] = [
        Array("\r\n".utf8), Array("\r\nX: y\r\n\r\n".utf8), Array("\r\n\r\n{\"ttl_ms\":30000}".utf8), [], [0x0D], [0x0A],
        [0x0D, 0x0D, 0x0A], Array("\r\n\r\n".utf8),
    ]

    static func check(_ input: [UInt8], from start: Int, mismatches: inout [String], answered: inout Int) {
        for limit in [Int.max / 2, input.count - start - 4, 20] {
            input.withUnsafeBytes { buffer in
                guard let actual = PartialHead.usualFieldLine(buffer, from: start, limit: limit), let base = buffer.baseAddress else { return }
                answered += 1
                let expected = reference(input, from: start, limit: limit, at: base + start)
                if actual != expected {
                    mismatches.append("\(input) from \(start), limit \(limit): \(actual) instead of \(String(describing: expected))")
                }
            }
        }
    }

    @Test func namesAndValuesWithEveryByteThatMattersAtEveryPosition() {
        var mismatches: [String] = []
        var answered = 0
        let letters = Array("Accept-Encoding-Longer".utf8)
        let value = Array("application/json; charset=utf-8, and more".utf8)
        for nameLength in [1, 2, 4, 7, 8, 9, 14, 15, 16, 17] {
            for valueLength in [0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 40] {
                let name = Array(letters[..<nameLength]), body = Array(value[..<valueLength])
                for separator in [":", ": ", ":  ", ":\t", ": \t"].map({ Array($0.utf8) }) {
                    for (tailIndex, tail) in Self.tails.enumerated() {
                        for prefix in [0, 3, 17] {
                            let line = name + separator + body
                            let lead = Array(repeating: UInt8(ascii: "p"), count: prefix)
                            Self.check(lead + line + tail, from: prefix, mismatches: &mismatches, answered: &answered)
                            Self.check(lead + line + Array("  ".utf8) + tail, from: prefix, mismatches: &mismatches, answered: &answered)
                            // Every byte that matters at every position, for the usual separator.
                            guard prefix == 3, tailIndex < 3, separator == Array(": ".utf8) else { continue }
                            for position in 0..<line.count {
                                for special in Self.specials {
                                    var mutated = line
                                    mutated[position] = special
                                    Self.check(lead + mutated + tail, from: prefix, mismatches: &mismatches, answered: &answered)
                                }
                            }
                        }
                    }
                }
            }
        }
        #expect(answered > 20_000, "\(answered)")
        let mismatchCount = mismatches.count
        #expect(mismatchCount == 0, "the first: \(mismatches.prefix(10))")
    }

    @Test func randomLinesAgreeWithTheReference() {
        var random = SplitMix64(seed: 0x33F1E1D)
        var mismatches: [String] = []
        var answered = 0
        for _ in 0..<50_000 {
            let length = Int(random.next() % 48)
            var bytes: [UInt8] = (0..<length).map { _ in
                // Mostly letters, with every kind of byte now and then.
                switch random.next() % 8 {
                case 0: Self.specials[Int(random.next() % UInt64(Self.specials.count))]
                case 1: UInt8(truncatingIfNeeded: random.next())
                default: UInt8(ascii: "a") + UInt8(random.next() % 26)
                }
            }
            if length > 2, random.next() % 2 == 0 { bytes[Int(random.next() % UInt64(min(length, 17)))] = UInt8(ascii: ":") }
            let tail = Self.tails[Int(random.next() % UInt64(Self.tails.count))]
            let prefix = Int(random.next() % 20)
            Self.check(Array(repeating: 0x41, count: prefix) + bytes + tail, from: prefix, mismatches: &mismatches, answered: &answered)
        }
        #expect(answered > 1_000)
        let mismatchCount = mismatches.count
        #expect(mismatchCount == 0, "the first: \(mismatches.prefix(10))")
    }

    /// The lines lockd's clients send: each read by the blocks, where at
    /// least sixteen bytes are left (the head's blank line counts).
    @Test func theUsualLinesAreReadByTheBlocks() {
        let lines = [
            "Host: 127.0.0.1:8080", "Accept-Encoding: identity", "Content-Type: application/json", "Content-Length: 16",
            "Lock-Token: 0123456789abcdef0123456789abcdef0123456789abcdef", "User-Agent: lockd-client/1.0", "Accept: */*",
            "Connection: keep-alive", "X:", "X: ", "A: b",
        ]
        for line in lines {
            let input = Array("\(line)\r\n\r\n{\"ttl_ms\":30000}".utf8)
            input.withUnsafeBytes { buffer in
                let usual = PartialHead.usualFieldLine(buffer, from: 0, limit: 1_000)
                #expect(usual != nil, "\(line)")
                if let base = buffer.baseAddress {
                    #expect(usual == Self.reference(input, from: 0, limit: 1_000, at: base), "\(line)")
                }
            }
        }
    }
}
