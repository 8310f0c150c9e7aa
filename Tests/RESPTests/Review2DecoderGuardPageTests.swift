#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing

@testable import RESP

/// review2 (session 10): the decoder's unchecked pointer reads (the
/// short-integer fast path) never read past the buffer. Each frame, and each
/// of its prefixes (a reply split across reads), is decoded from bytes that
/// end exactly where an inaccessible page begins: one byte read too far
/// faults.
@Suite struct Review2DecoderGuardPageTests {
    /// Two pages, the second inaccessible.
    final class GuardedPage {
        let base: UnsafeMutableRawPointer
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

        init() throws {
            let mapped = mmap(nil, 2 * pageSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
            guard let mapped, mapped != MAP_FAILED else { throw MappingFailed() }
            base = mapped
            guard mprotect(base + pageSize, pageSize, PROT_NONE) == 0 else { throw MappingFailed() }
        }

        deinit { munmap(base, 2 * pageSize) }

        /// `bytes` placed so that the byte after the last is the guard page's first.
        func decode(_ bytes: ArraySlice<UInt8>) throws(RESPProtocolError) -> (value: RESPValue, consumed: Int)? {
            let start = base + pageSize - bytes.count
            bytes.withUnsafeBytes { source in
                if let from = source.baseAddress { start.copyMemory(from: from, byteCount: source.count) }
            }
            return try RESPDecoder().decode(UnsafeRawBufferPointer(start: start, count: bytes.count))
        }
    }

    struct MappingFailed: Error {}

    /// Integers and lengths of every digit count around the fast path's 18,
    /// signed and not, and a script reply made of them.
    static let numberFrames: [(wire: String, value: RESPValue)] = {
        var frames: [(String, RESPValue)] = []
        var magnitude: Int64 = 9
        for _ in 1...18 {
            for value in [magnitude, -magnitude, magnitude / 9 * 8 + 1] {
                frames.append((":\(value)\r\n", .integer(value)))
            }
            frames.append((":+\(magnitude)\r\n", .integer(magnitude)))
            if magnitude < Int64.max / 10 { magnitude = magnitude * 10 + 9 }
        }
        frames.append((":1234567890123456789\r\n", .integer(1_234_567_890_123_456_789)))
        frames.append((":-1234567890123456789\r\n", .integer(-1_234_567_890_123_456_789)))
        frames.append(("*4\r\n:1\r\n:1733374000000123\r\n:-999999999999999999\r\n$1\r\nx\r\n",
                       .array([.integer(1), .integer(1_733_374_000_000_123), .integer(-999_999_999_999_999_999), .bulkString([120])])))
        return frames
    }()

    @Test func everyFrameAndEveryPrefixEndingAtAGuardPageDecodesWithoutReadingPastIt() throws {
        let page = try GuardedPage()
        for (wire, expected) in RESPDecoderTests.samples + Self.numberFrames {
            let bytes = Array(wire.utf8)
            for split in 0..<bytes.count {
                #expect(try page.decode(bytes[..<split]) == nil, "prefix of \(split) bytes of \(wire.debugDescription)")
            }
            let decoded = try #require(try page.decode(bytes[...]), "\(wire.debugDescription)")
            #expect(decoded.value == expected, "\(wire.debugDescription)")
            #expect(decoded.consumed == bytes.count)
        }
    }
}
