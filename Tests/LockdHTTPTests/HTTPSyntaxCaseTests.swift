import Testing

@testable import LockdHTTP

/// Field names are compared ignoring ASCII case eight bytes at a time; the
/// word's lowercasing must be the byte one's in every lane, whatever the
/// other lanes hold, and the comparison must agree with the byte loop.
@Suite struct HTTPSyntaxCaseTests {
    @Test func aWordLowercasesExactlyItsUpperCaseLettersInEveryLane() {
        for fill: UInt8 in [UInt8(ascii: "a"), UInt8(ascii: "A"), UInt8(ascii: "Z"), UInt8(ascii: "@"), UInt8(ascii: "["), 0x00, 0x7F, 0x80, 0xC1, 0xDA, 0xFF] {
            for value in UInt8.min...UInt8.max {
                for position in 0..<8 {
                    var bytes = Array(repeating: fill, count: 8)
                    bytes[position] = value
                    let word = bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
                    let lowered = withUnsafeBytes(of: HTTPSyntax.lowercased(word: word)) { Array($0) }
                    #expect(lowered == bytes.map(HTTPSyntax.lowercased), "byte 0x\(String(value, radix: 16)) at \(position) among 0x\(String(fill, radix: 16))")
                }
            }
        }
    }

    @Test func theWordComparisonAgreesWithTheByteComparison() {
        let bytesOfInterest: [UInt8] = Array("aAzZ-_@[`{09".utf8) + [0x00, 0x20, 0x7F, 0x80, 0xC1, 0xE1, 0xFF]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let count = Int.random(in: 0...40, using: &generator)
            let left = (0..<count).map { _ in bytesOfInterest.randomElement(using: &generator)! }
            // Mostly a case-flipped copy, sometimes with a byte changed, sometimes a length off.
            var right = left.map { byte in Bool.random(using: &generator) && HTTPSyntax.isLetter(byte) ? byte ^ 0x20 : byte }
            if !right.isEmpty, Int.random(in: 0..<3, using: &generator) == 0 {
                right[Int.random(in: 0..<right.count, using: &generator)] = bytesOfInterest.randomElement(using: &generator)!
            }
            if Int.random(in: 0..<10, using: &generator) == 0 { right.append(UInt8(ascii: "a")) }
            let expected = left.count == right.count && zip(left, right).allSatisfy { HTTPSyntax.lowercased($0) == HTTPSyntax.lowercased($1) }
            left.withUnsafeBytes { l in
                right.withUnsafeBytes { r in
                    #expect(HTTPSyntax.equalIgnoringASCIICase(l, r) == expected, "\(left) vs \(right)")
                }
            }
        }
    }
}

extension HTTPSyntax {
    fileprivate static func isLetter(_ byte: UInt8) -> Bool { lowercased(byte) >= UInt8(ascii: "a") && lowercased(byte) <= UInt8(ascii: "z") }
}
