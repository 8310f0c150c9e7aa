import Testing

@testable import LockdHTTP

/// ``PathPattern/depth(of:)`` counts a path's slashes eight bytes at a time,
/// the last few from an overlapping word: it must count each slash once, on
/// paths of every length around the word and with a slash at every position.
@Suite struct PathDepthTests {
    @Test func everySlashIsCountedOnceAtEveryLengthAndPosition() {
        var mismatches: [String] = []
        for length in 0...40 {
            for mask in [0, 1, 0x55, 0xAA, 0x3C, 0xFF] {
                for shift in 0..<8 {
                    // Slashes where the pattern puts them; other bytes that
                    // differ from `/` by one bit, and bytes above 0x7F.
                    let path = (0..<length).map { index -> UInt8 in
                        (mask >> ((index + shift) % 8)) & 1 == 1 ? UInt8(ascii: "/") : [0x2E, 0x2F ^ 0x80, 0x6F, 0x0F][index % 4]
                    }
                    let expected = path.filter { $0 == UInt8(ascii: "/") }.count
                    let counted = path.withUnsafeBufferPointer { PathPattern.depth(of: $0) }
                    if counted != expected { mismatches.append("\(path): \(counted) instead of \(expected)") }
                }
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.count): \(mismatches.prefix(5))")
    }
}
