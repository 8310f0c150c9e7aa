import LockdGuardPages
import Testing

@testable import RESP

/// review2 (session 10): the decoder's unchecked pointer reads (the
/// short-integer fast path) never read past the buffer. Each frame, and each
/// of its prefixes (a reply split across reads), is decoded from bytes that
/// end exactly where an inaccessible page begins: one byte read too far
/// faults.
@Suite struct Review2DecoderGuardPageTests {
    /// The decoder's calls over bytes placed so that the byte after the
    /// last is an inaccessible page's first.
    struct GuardedPage {
        let pages: GuardedPages

        init() throws { pages = try GuardedPages() }

        func decode(_ bytes: ArraySlice<UInt8>) throws(RESPProtocolError) -> (value: RESPValue, consumed: Int)? {
            try RESPDecoder().decode(pages.endingAtGuard(bytes))
        }

        /// ``RESPDecoder/plainFrameLength(_:)`` of `bytes` placed as ``decode(_:)`` places them.
        func plainFrameLength(_ bytes: ArraySlice<UInt8>) -> Int? {
            RESPDecoder().plainFrameLength(pages.endingAtGuard(bytes))
        }

        /// `body` reading `bytes` (one whole frame) in place, placed as ``decode(_:)`` places them.
        func reading<Value>(_ bytes: ArraySlice<UInt8>, _ body: (inout RESPReply) -> Value) -> Value {
            var reply = RESPReply(unsafeFrame: pages.endingAtGuard(bytes))
            return body(&reply)
        }
    }

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

    /// Script-reply shapes the in-place path reads (wip-cpuredis e061e21).
    static let scriptReplies: [(wire: String, value: RESPValue)] = [
        ("*9\r\n:1\r\n:1733374000000123\r\n:1733374000000\r\n:30000\r\n$7\r\nowner-1\r\n:0\r\n:-1\r\n:1\r\n$1\r\nx\r\n",
         .array([.integer(1), .integer(1_733_374_000_000_123), .integer(1_733_374_000_000), .integer(30000), .bulkString(Array("owner-1".utf8)),
                 .integer(0), .integer(-1), .integer(1), .bulkString([120])])),
        ("*8\r\n:0\r\n:1733374000000\r\n$-1\r\n:0\r\n_\r\n*2\r\n*2\r\n:5\r\n+a\r\n*0\r\n:250\r\n$0\r\n\r\n",
         .array([.integer(0), .integer(1_733_374_000_000), .null, .integer(0), .null, .array([.array([.integer(5), .simpleString("a")]), .array([])]),
                 .integer(250), .bulkString([])])),
        { () -> (String, RESPValue) in
            let message = "name\n7 12 3\r\n"
            return ("*2\r\n:1\r\n$\(message.utf8.count)\r\n\(message)\r\n", .array([.integer(1), .bulkString(Array(message.utf8))]))
        }(),
        ("*-1\r\n", .null),
        ("*1\r\n*-1\r\n", .array([.null])),
    ]

    @Test func aPlainFrameIsFoundOnlyWholeAndReadInPlaceWithoutPassingItsEndAsItDecodes() throws {
        let page = try GuardedPage()
        for (wire, expected) in RESPDecoderTests.samples + Self.numberFrames + Self.scriptReplies {
            let bytes = Array(wire.utf8)
            for split in 0..<bytes.count {
                #expect(page.plainFrameLength(bytes[..<split]) == nil, "prefix of \(split) bytes of \(wire.debugDescription)")
            }
            guard let length = page.plainFrameLength(bytes[...]) else { continue }
            #expect(length == bytes.count, "\(wire.debugDescription)")
            // What the accessors read in place is what they read from the decoded value.
            #expect(page.reading(bytes[...]) { $0.value() } == expected, "\(wire.debugDescription)")
            #expect(page.reading(bytes[...]) { $0.int() } == expected.int, "\(wire.debugDescription)")
            #expect(page.reading(bytes[...]) { $0.string() } == expected.string, "\(wire.debugDescription)")
            #expect(page.reading(bytes[...]) { $0.bytes() } == expected.bytes, "\(wire.debugDescription)")
            guard let elements = expected.array else {
                #expect(page.reading(bytes[...]) { $0.array() } == nil, "\(wire.debugDescription)")
                continue
            }
            #expect(page.reading(bytes[...]) { $0.array() } == elements.count, "\(wire.debugDescription)")
            let ints = page.reading(bytes[...]) { reply in (0..<(reply.array() ?? 0)).map { _ in reply.int() } }
            #expect(ints == elements.map(\.int), "\(wire.debugDescription)")
            let strings = page.reading(bytes[...]) { reply in (0..<(reply.array() ?? 0)).map { _ in reply.string() } }
            #expect(strings == elements.map(\.string), "\(wire.debugDescription)")
            let arrays = page.reading(bytes[...]) { reply in
                (0..<(reply.array() ?? 0)).map { _ -> Int? in
                    guard let count = reply.array() else { _ = reply.value(); return nil }
                    for _ in 0..<count { _ = reply.value() }
                    return count
                }
            }
            #expect(arrays == elements.map { $0.array?.count }, "\(wire.debugDescription)")
        }
    }

    @Test(arguments: ["+OK\n", "+O\rK\r\n", ":12a\r\n", "$3\r\nabcd\r\n", "$-2\r\n", "*1\r\n-ERR x\r\n", "*2\r\n:1\r\n,1.5\r\n", "_x\r\n",
                      ":99999999999999999999\r\n", "$-1\n"])
    func aFrameTheDecoderDoesNotReadPlainlyIsNoPlainFrame(frame: String) throws {
        let page = try GuardedPage()
        #expect(page.plainFrameLength(Array(frame.utf8)[...]) == nil)
    }
}
