@testable import LockdAPI
import LockdGuardPages
@testable import LockdHTTP
@testable import LockEngine
import Testing

/// review20: the word-at-a-time code this session added — a token of
/// 22–128 characters read and checked in words (wip-api33's
/// `LeaseToken.read`, and a token of 22–31 written back in words), an
/// owner's escapes counted eight bytes at a time (`JSONCursor.escapedExtra`),
/// a usual field line read in blocks of sixteen (wip-http33's
/// `PartialHead.usualFieldLine`) and a field's bytes copied in two
/// overlapping pieces (`HTTPHeaders.copy`) — reads and writes only within
/// its buffers: each input is placed against an inaccessible page (after
/// its last byte, then before its first), so one byte outside faults.
@Suite struct Review20GuardPageTests {
    static let tokenCharacters = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// Every length 0–140, valid and with one bad byte at each end: the
    /// answer is the definition's (22–128 token characters) on either side
    /// of a guard, and a token of 22–32 written back writes exactly its
    /// bytes, into room that ends at a guard.
    @Test func tokensOfEveryLengthAreReadAndWrittenWithinTheirBytes() throws {
        let pages = try GuardedPages()
        let room = try GuardedPages()
        for length in 0...140 {
            let valid = (0..<length).map { Self.tokenCharacters[($0 * 7 + length) % Self.tokenCharacters.count] }
            var cases: [([UInt8], Bool)] = [(valid, (22...128).contains(length))]
            if length > 0 {
                for bad: UInt8 in [0x00, 0x20, 0x2E, 0x7F, 0x80, 0xFF] {
                    var first = valid, last = valid
                    first[0] = bad
                    last[length - 1] = bad
                    cases.append((first, false))
                    cases.append((last, false))
                }
            }
            for (bytes, expected) in cases {
                for placed in [pages.endingAtGuard(bytes), pages.startingAtGuard(bytes)] {
                    let (isValid, _) = LeaseToken.read(placed.asBytes)
                    #expect(isValid == expected, "length \(length): \(bytes)")
                    guard let token = LeaseToken(checking: placed.asBytes) else {
                        #expect(!expected, "length \(length) refused")
                        continue
                    }
                    #expect(expected)
                    #expect(token.count == length)
                    #expect(token == (try LeaseToken(String(decoding: bytes, as: UTF8.self))))
                    // Written into exactly `count` bytes of room ending at a guard page.
                    let target = room.endingAtGuard([UInt8](repeating: 0, count: length))
                    let written = token.write(to: UnsafeMutablePointer(mutating: target.asBytes.baseAddress!))
                    #expect(written == length)
                    #expect(Array(target) == bytes, "length \(length) written back wrong")
                    token.withUTF8 { #expect(Array($0) == bytes) }
                }
            }
        }
    }

    /// An owner of every length 0–40, with and without a byte to escape at
    /// each position: counted within its bytes, as byte by byte.
    @Test func escapesAreCountedWithinTheText() throws {
        let pages = try GuardedPages()
        for length in 0...40 {
            let plain = (0..<length).map { UInt8(ascii: "a") + UInt8($0 % 26) }
            var texts = [plain]
            for position in 0..<length {
                for special: UInt8 in [0x00, 0x1F, 0x22, 0x5C, 0x7F, 0x80, 0xA2, 0xDC] {
                    var text = plain
                    text[position] = special
                    texts.append(text)
                }
            }
            for text in texts {
                for placed in [pages.endingAtGuard(text), pages.startingAtGuard(text)] {
                    #expect(JSONCursor.escapedExtra(placed.asBytes) == JSONCursor.escapedExtraByBytes(placed.asBytes), "\(text)")
                }
            }
        }
    }

    /// Field lines, and every prefix of a head holding them, read in blocks
    /// from bytes that end where a guard page begins.
    @Test func usualFieldLinesAreReadWithinTheInput() throws {
        let pages = try GuardedPages()
        let heads = [
            "Host: 127.0.0.1:8080\r\nAccept-Encoding: identity\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n",
            "Lock-Token: 0123456789abcdef0123456789abcdef0123456789abcdef\r\nX: \r\nA: b   \r\nAbcdefghijklmno: v\r\n\r\n",
            "X-Very-Long-Name-Here: 1\r\nY:  two\r\nZ:\tt\r\nW: obs\u{00E9}text\r\n\r\n",
        ]
        var answered = 0
        for head in heads {
            let bytes = Array(head.utf8)
            for end in 0...bytes.count {
                for start in [0, 1, 5] where start <= end {
                    for limit in [1_000, 10] {
                        // The line's start is a pointer into the placed bytes: compared as an offset from them.
                        func read(_ placed: UnsafeRawBufferPointer) -> [Int]? {
                            guard let line = PartialHead.usualFieldLine(placed, from: start, limit: limit),
                                  let base = placed.baseAddress else { return nil }
                            return [line.start - base, line.colon, line.valueStart, line.valueEnd, line.end]
                        }
                        let near = read(pages.endingAtGuard(bytes[..<end]))
                        let far = read(pages.startingAtGuard(bytes[..<end]))
                        #expect(near == far)
                        if near != nil { answered += 1 }
                    }
                }
            }
        }
        #expect(answered > 50)
    }

    /// A field's bytes copied, 0–48 of them, from a source and into a
    /// target that each end at a guard page: the same bytes, none past.
    @Test func fieldBytesAreCopiedWithinSourceAndTarget() throws {
        let sources = try GuardedPages()
        let targets = try GuardedPages()
        for count in 0...48 {
            let bytes = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            for source in [sources.endingAtGuard(bytes), sources.startingAtGuard(bytes)] {
                let target = targets.endingAtGuard([UInt8](repeating: 0, count: count))
                if let from = source.baseAddress, let to = target.baseAddress {
                    HTTPHeaders.copy(from, to: UnsafeMutableRawPointer(mutating: to), count: count)
                }
                #expect(Array(target) == bytes, "count \(count)")
            }
        }
    }
}
