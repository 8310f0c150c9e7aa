@testable import LockdClient
import Testing

/// The word-at-a-time scan finds what a byte-by-byte scan finds.
@Suite struct JSONStringScanTests {
    /// The scan it replaced, byte by byte.
    private static func closingQuoteByteByByte(_ bytes: [UInt8], from start: Int) -> Int? {
        var index = start
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "\""): return index
            case UInt8(ascii: "\\"), 0..<0x20: return nil
            default: index += 1
            }
        }
        return nil
    }

    @Test func findsWhatAByteByByteScanFinds() {
        var generator = SystemRandomNumberGenerator()
        // Bytes on both sides of every edge the scan's arithmetic has (0x01, 0x20, 0x22,
        // 0x5C, 0x80), and ordinary ones, mostly.
        let edges: [UInt8] = [0x00, 0x01, 0x02, 0x1F, 0x20, 0x21, 0x22, 0x23, 0x5B, 0x5C, 0x5D, 0x7F, 0x80, 0x81, 0xA0, 0xA2, 0xDC, 0xFE, 0xFF]
        let ordinary = Array("abcXYZ09-_.:T".utf8)
        var quotes = 0
        for _ in 0..<50_000 {
            let share = [0, 2, 10, 50].randomElement(using: &generator)!
            let bytes = (0..<Int.random(in: 0...40, using: &generator)).map { _ in
                Int.random(in: 0..<100, using: &generator) < share
                    ? edges.randomElement(using: &generator)! : ordinary.randomElement(using: &generator)!
            }
            let start = Int.random(in: 0...bytes.count, using: &generator)
            let expected = Self.closingQuoteByteByByte(bytes, from: start)
            let found = bytes.withUnsafeBufferPointer { JSONStringScan.closingQuote(in: $0, from: start) }
            #expect(found == expected, "\(bytes) from \(start)")
            if expected != nil { quotes += 1 }
        }
        #expect(quotes > 1_000)
    }

    @Test func aQuoteAfterEightOrMoreBytesIsFoundInItsWord() {
        for length in 0..<24 {
            let text = Array(String(repeating: "é", count: length).utf8) + [UInt8(ascii: "\"")]
            #expect(text.withUnsafeBufferPointer { JSONStringScan.closingQuote(in: $0, from: 0) } == text.count - 1)
            var escaped = text
            escaped.insert(UInt8(ascii: "\\"), at: length)
            #expect(escaped.withUnsafeBufferPointer { JSONStringScan.closingQuote(in: $0, from: 0) } == nil)
        }
    }
}
