import Testing

@testable import RESP

/// `plainFrameLength`'s scanner (PlainFrameScanner, session 17) against the
/// recursive checker it replaced, kept here as it was: the same answer for
/// every frame, every prefix of it and every one-byte change to it, and
/// nothing read past the end (the guard-page tests place frames at a page's end).
@Suite struct PlainFrameScannerTests {
    static let limits = RESPLimits(maxDepth: 3, maxBulkLength: 40, maxAggregateCount: 12, maxLineLength: 24)

    static let frames: [String] = [
        ":1\r\n", ":-7\r\n", ":+3\r\n", ":0\r\n", ":123456789012345678\r\n", ":1234567890123456789\r\n", ":-123456789012345678\r\n",
        "$0\r\n\r\n", "$-1\r\n", "*-1\r\n", "*0\r\n", "_\r\n", "+OK\r\n", "+\r\n", "$5\r\nx\r\ny\0\r\n", "$12\r\nhello world!\r\n",
        // An acquire's grant, a held reply's start, a release's, nested arrays and every scalar inside one.
        "*9\r\n:1\r\n:1733412345678901\r\n:1733412345678\r\n:30000\r\n$0\r\n\r\n:0\r\n:0\r\n:1\r\n$1\r\nx\r\n",
        "*8\r\n:0\r\n:1733412345678\r\n:0\r\n:1\r\n*0\r\n*5\r\n:17334123456789\r\n:29000\r\n$1\r\nx\r\n$7\r\nowner-1\r\n$0\r\n\r\n:30\r\n:0\r\n",
        "*2\r\n:1\r\n$20\r\nlockd:waiting\nname\n5\r\n", "*3\r\n*1\r\n*1\r\n:1\r\n+s\r\n_\r\n", "*4\r\n$-1\r\n*-1\r\n+a\r\n:-12345678\r\n",
        // Over a limit: bulk length, count, depth, line; 19 digits; other types.
        "$41\r\n" + String(repeating: "b", count: 41) + "\r\n", "*13\r\n" + String(repeating: ":1\r\n", count: 13),
        "*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n", "+" + String(repeating: "l", count: 25) + "\r\n", ":12345678901234567890123\r\n",
        "-ERR x\r\n", "!1\r\nx\r\n", "#t\r\n", ",1.5\r\n", "(1\r\n", "%0\r\n", "~0\r\n", ">0\r\n", "|0\r\n:1\r\n", "*1\r\n-ERR x\r\n",
        // Malformed.
        ":4x\r\n", "$3\r\nabcd\r\n", "$+3\r\nabc\r\n", "$-2\r\n", "*-1\r\r", "+a\nb\r\n", "_x\r\n", ":\r\n", ":-\r\n", "*2\r\n:1\r\n",
        ":12345678\r\n", ":1234567\r\r", ":123456789\n\r\n", "*1\r\n:12345678:\r\n",
    ]

    @Test func theScannerAnswersAsTheCheckerItReplacedForEveryFramePrefixAndChange() {
        var cases = 0
        for frame in Self.frames {
            let bytes = Array(frame.utf8) + Array(":1\r\n".utf8)
            var variants = (0...bytes.count).map { Array(bytes[..<$0]) }
            for position in bytes.indices {
                for byte: UInt8 in [UInt8(ascii: "0"), UInt8(ascii: "9"), UInt8(ascii: "\r"), UInt8(ascii: "\n"), UInt8(ascii: "-"),
                                    UInt8(ascii: ":"), UInt8(ascii: "/"), 0, 0x80, 0xB0, 0xFF] where bytes[position] != byte {
                    var changed = bytes
                    changed[position] = byte
                    variants.append(changed)
                }
            }
            for variant in variants {
                let (new, old) = variant.withUnsafeBytes { buffer in
                    var reader = RESPReader(bytes: buffer, limits: Self.limits)
                    var reference = RESPReader(bytes: buffer, limits: Self.limits)
                    let new = reader.skipPlain(depth: 0) ? reader.index : nil
                    let old = reference.skipPlainAsBefore(depth: 0) ? reference.index : nil
                    return (new, old)
                }
                #expect(new == old, "\(String(decoding: variant, as: UTF8.self).debugDescription)")
                cases += 1
            }
        }
        #expect(cases > 10_000)
    }

    @Test func runsOfDigitsOfEveryLengthAndPlaceAreFoundWhole() {
        for digits in 0...24 {
            for padding in 0...9 {
                let frame = String(repeating: "*1\r\n", count: padding % 2) + ":" + String(repeating: "7", count: digits) + "\r\n"
                let bytes = Array(String(repeating: " ", count: padding).utf8) + Array(frame.utf8)
                let (new, old) = bytes.withUnsafeBytes { buffer in
                    var reader = RESPReader(bytes: buffer, limits: RESPLimits())
                    var reference = RESPReader(bytes: buffer, limits: RESPLimits())
                    reader.index = padding
                    reference.index = padding
                    return (reader.skipPlain(depth: 0) ? reader.index : nil, reference.skipPlainAsBefore(depth: 0) ? reference.index : nil)
                }
                #expect(new == old, "\(digits) digits after \(padding) bytes")
                #expect((new != nil) == (digits >= 1 && digits <= 18), "\(digits) digits after \(padding) bytes")
            }
        }
    }
}

/// The checker as it was before PlainFrameScanner (RESPDecoder.swift, session 16).
extension RESPReader {
    mutating func skipPlainAsBefore(depth: Int) -> Bool {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), index < bytes.count else { return false }
        let cr = UInt8(ascii: "\r"), lf = UInt8(ascii: "\n")
        let type = base[index]
        index += 1
        switch type {
        case UInt8(ascii: ":"):
            guard let (_, next) = shortDecimalAsBefore() else { return false }
            index = next
            return true
        case UInt8(ascii: "$"), UInt8(ascii: "*"):
            guard index < bytes.count else { return false }
            if base[index] == UInt8(ascii: "-") {
                guard bytes.count - index >= 4, base[index + 1] == UInt8(ascii: "1"), base[index + 2] == cr,
                      base[index + 3] == lf else { return false }
                index += 4
                return true
            }
            guard base[index] &- UInt8(ascii: "0") < 10, let (count, next) = shortDecimalAsBefore() else { return false }
            index = next
            if type == UInt8(ascii: "$") {
                guard count <= limits.maxBulkLength, bytes.count - index >= Int(count) + 2,
                      base[index + Int(count)] == cr, base[index + Int(count) + 1] == lf else { return false }
                index += Int(count) + 2
                return true
            }
            guard count <= limits.maxAggregateCount, depth < limits.maxDepth else { return false }
            for _ in 0..<count {
                guard skipPlainAsBefore(depth: depth + 1) else { return false }
            }
            return true
        case UInt8(ascii: "+"):
            var cursor = index
            while cursor < bytes.count, base[cursor] != cr, base[cursor] != lf { cursor += 1 }
            guard cursor - index <= limits.maxLineLength, cursor + 1 < bytes.count, base[cursor] == cr,
                  base[cursor + 1] == lf else { return false }
            index = cursor + 2
            return true
        case UInt8(ascii: "_"):
            guard bytes.count - index >= 2, base[index] == cr, base[index + 1] == lf else { return false }
            index += 2
            return true
        default:
            return false
        }
    }

    private func shortDecimalAsBefore() -> (Int64, Int)? {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), index < bytes.count else { return nil }
        var cursor = index
        let sign = base[cursor]
        let negative = sign == UInt8(ascii: "-")
        if negative || sign == UInt8(ascii: "+") { cursor += 1 }
        let first = cursor
        let end = min(bytes.count, first + 18)
        var magnitude: Int64 = 0
        while cursor < end {
            let digit = base[cursor] &- UInt8(ascii: "0")
            guard digit < 10 else { break }
            magnitude = magnitude &* 10 &+ Int64(digit)
            cursor &+= 1
        }
        guard cursor > first, cursor - index <= limits.maxLineLength, cursor + 1 < bytes.count,
              base[cursor] == UInt8(ascii: "\r"), base[cursor + 1] == UInt8(ascii: "\n") else { return nil }
        return (negative ? -magnitude : magnitude, cursor + 2)
    }
}
