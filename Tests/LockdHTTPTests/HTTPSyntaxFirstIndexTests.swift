import LockdTestSupport
import Testing

@testable import LockdHTTP

/// The request line's spaces and a path segment's `%` are found with
/// `memchr` (``HTTPSyntax/firstIndex(of:in:)``) where `firstIndex(of:)`
/// was used: the same index, or nil, for every byte sought at every
/// position of buffers of every length up to 40, and in random ones.
@Suite struct HTTPSyntaxFirstIndexTests {
    @Test func findsWhatFirstIndexFinds() {
        for length in 0...40 {
            for position in 0...length {
                for sought in [UInt8(0x20), 0x25, 0x00, 0xFF] {
                    var bytes = [UInt8](repeating: sought == 0x41 ? 0x42 : 0x41, count: length)
                    if position < length { bytes[position] = sought }
                    if position + 1 < length { bytes[length - 1] = sought }
                    let found = bytes.withUnsafeBytes { HTTPSyntax.firstIndex(of: sought, in: $0) }
                    #expect(found == bytes.firstIndex(of: sought), "length \(length), at \(position), byte \(sought)")
                }
            }
        }
        var random = SplitMix64(seed: 0xF1257)
        for round in 0..<5_000 {
            let bytes = (0..<Int(random.next() % 70)).map { _ in UInt8(truncatingIfNeeded: random.next() % 6 + 0x20) }
            let found = bytes.withUnsafeBytes { HTTPSyntax.firstIndex(of: 0x20, in: $0) }
            #expect(found == bytes.firstIndex(of: 0x20), "round \(round)")
            // From an offset into a larger buffer, as the request line's rest is.
            let offset = bytes.isEmpty ? 0 : Int(random.next() % UInt64(bytes.count))
            let tail = bytes.withUnsafeBytes { HTTPSyntax.firstIndex(of: 0x20, in: UnsafeRawBufferPointer(rebasing: $0[offset...])) }
            #expect(tail == bytes[offset...].firstIndex(of: 0x20).map { $0 - offset }, "round \(round), from \(offset)")
        }
        #expect(HTTPSyntax.firstIndex(of: 0x20, in: UnsafeRawBufferPointer(start: nil, count: 0)) == nil)
    }
}
