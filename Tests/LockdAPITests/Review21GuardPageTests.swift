import LockdGuardPages
@testable import LockdHTTP
@testable import LockEngine
import Testing

/// review21: the word-at-a-time code this session added — wip-http34's
/// usual request line (`PartialHead.parseUsualRequestLine`: its first
/// word, its last nine bytes, its path's words and a short path's one
/// word) and wip-api34's long tokens kept as bytes — reads only within its
/// buffers, and answers as the full parse: each line is placed against an
/// inaccessible page (after its last byte, then before its first), so one
/// byte outside faults.
@Suite struct Review21GuardPageTests {
    static let methods = ["GET", "PUT", "POST", "HEAD", "DELETE", "OPTIONS", "G", "", "DELET", "GETX"]
    static let versions = ["HTTP/1.1", "HTTP/1.0", "HTTP/1.", "", "TTP/1.1", "xHTTP/1.1"]

    /// What a parse left: its error, or the method, `HEAD` flag, version, path and query.
    static func outcome(_ head: PartialHead, _ error: HTTPError?) -> String {
        if let error { return "error \(error.status.code) \(error.type) \(error.detail)" }
        return "\(head.method.rawValue) head \(head.isHead) \(head.version) path \(head.pathBytes) query \(head.query ?? "none")"
    }

    /// Every method with a target of every length 0–40 (plain, and with a
    /// `?`, `#`, SP or DEL at each end) and every version, and every
    /// prefix of each such line (a line cut short, as small as 0 bytes):
    /// read within its bytes, and as the full parse reads it.
    @Test func usualRequestLinesAreReadWithinTheirBytesAsTheFullParse() throws {
        let pages = try GuardedPages()
        var lines: [[UInt8]] = []
        for method in Self.methods {
            for version in Self.versions {
                for length in 0...40 {
                    let plain = [UInt8(ascii: "/")] + (0..<max(0, length - 1)).map { UInt8(ascii: "a") + UInt8($0 % 26) }
                    var targets = [Array(plain.prefix(length))]
                    if length > 1 {
                        for special: UInt8 in [0x3F, 0x23, 0x20, 0x7F, 0x80] {
                            var last = plain
                            last[length - 1] = special
                            var middle = plain
                            middle[length / 2] = special
                            targets += [last, middle]
                        }
                    }
                    for target in targets {
                        lines.append(Array(method.utf8) + [0x20] + target + [0x20] + Array(version.utf8))
                    }
                }
            }
        }
        // Cut short: every prefix of a few usual lines.
        for line in ["DELETE /locks/a HTTP/1.1", "GET / HTTP/1.1", "POST /locks/instr-lock-17 HTTP/1.1", "HEAD /abcdefgh HTTP/1.1"] {
            let bytes = Array(line.utf8)
            for count in 0...bytes.count { lines.append(Array(bytes.prefix(count))) }
        }
        var mismatches: [String] = []
        var usual = 0
        for line in lines {
            var reference = PartialHead()
            let expected = line.withUnsafeBytes { reference.parseAnyRequestLine($0) }
            let wanted = Self.outcome(reference, expected)
            for placed in [pages.endingAtGuard(line), pages.startingAtGuard(line)] {
                var head = PartialHead()
                let read = head.parseUsualRequestLine(placed)
                if read { usual += 1 }
                let error = read ? nil : head.parseAnyRequestLine(placed)
                let actual = Self.outcome(head, error)
                if actual != wanted { mismatches.append("\(String(decoding: line, as: UTF8.self)): \(actual) instead of \(wanted)") }
                // Through the entry point the decoder calls.
                var whole = PartialHead()
                let wholeError = whole.parseRequestLine(placed)
                if Self.outcome(whole, wholeError) != wanted { mismatches.append("parseRequestLine \(String(decoding: line, as: UTF8.self))") }
            }
        }
        #expect(usual > 300)
        #expect(mismatches.isEmpty, "\(mismatches.prefix(10))")
    }

    /// A long client token (33–128 characters) kept as its bytes: made from
    /// a header's bytes placed against a guard, it is the token its text
    /// makes, equal, hashed alike, written back exactly, and never shown.
    @Test func longTokensKeptAsBytesAreTheTokensTheirTextMakes() throws {
        let pages = try GuardedPages()
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        for length in 20...132 {
            let bytes = (0..<length).map { alphabet[($0 * 11 + length) % alphabet.count] }
            let text = String(decoding: bytes, as: UTF8.self)
            let fromText = try? LeaseToken(text)
            let fromArray = LeaseToken(bytes: bytes)
            #expect((fromText != nil) == (22...128).contains(length))
            #expect((fromArray != nil) == (22...128).contains(length))
            for placed in [pages.endingAtGuard(bytes), pages.startingAtGuard(bytes)] {
                let checked = LeaseToken(checking: placed.asBytes)
                #expect(checked == fromText)
                guard let checked, let fromArray else { continue }
                #expect(checked == fromArray && fromArray == checked)
                #expect(checked.hashValue == fromArray.hashValue)
                #expect(checked.value == text && fromArray.value == text)
                #expect(checked.count == length && checked.room >= length)
                #expect(!checked.description.contains(text) && !"\(fromArray)".contains(text))
                // One byte different, anywhere: a different token.
                for position in [0, length / 2, length - 1] {
                    var other = bytes
                    other[position] = other[position] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
                    #expect(LeaseToken(bytes: other) != checked)
                }
                // Written into exactly its room, ending at a guard.
                let room = try GuardedPages()
                let target = room.endingAtGuard([UInt8](repeating: 0, count: checked.room))
                let written = checked.write(to: UnsafeMutablePointer(mutating: target.asBytes.baseAddress!))
                #expect(written == length)
                #expect(Array(target.prefix(written)) == bytes)
            }
        }
    }
}

/// review21: wip-http34's usual request line read straight from the
/// decoder's input (`PartialHead.parseUsualRequestLine(_:from:limit:)`,
/// 2624980): its end found by the path's words, then SP, `HTTP/1.1` and
/// CRLF loaded after it. Every cut of each input, placed against a guard
/// page (so a load past the received bytes faults), at two offsets and
/// three limits: where it answers, the line-based path (`nextLine`, then
/// the full parse) finds the same line end and the same head; where it
/// does not, the head is untouched.
@Suite struct Review21UsualLineFromInputGuardPageTests {
    @Test func theLineReadFromTheInputStaysWithinItAndAnswersAsTheLineBasedPath() throws {
        let pages = try GuardedPages()
        var inputs: [[UInt8]] = []
        for method in ["GET", "PUT", "POST", "HEAD", "DELETE", "OPTIONS", "GETX"] {
            for version in ["HTTP/1.1", "HTTP/1.0"] {
                for length in 0...26 {
                    let target = Array(([UInt8(ascii: "/")] + (0..<max(0, length - 1)).map { UInt8(ascii: "a") + UInt8($0 % 26) }).prefix(length))
                    for tail in ["\r\n", "\r\nHost: a\r\n\r\n", "\n", "\r\r\n"] {
                        inputs.append(Array(method.utf8) + [0x20] + target + [0x20] + Array(version.utf8) + Array(tail.utf8))
                    }
                    if length > 2 {
                        var query = target
                        query[length - 2] = UInt8(ascii: "?")
                        inputs.append(Array(method.utf8) + [0x20] + query + [0x20] + Array(version.utf8) + Array("\r\n".utf8))
                    }
                }
            }
        }
        var mismatches: [String] = []
        var read = 0
        for whole in inputs {
            for count in 0...whole.count {
                for offset in [0, 3] {
                    let input = Array(repeating: UInt8(ascii: "z"), count: offset) + whole.prefix(count)
                    for placed in [pages.endingAtGuard(input), pages.startingAtGuard(input)] {
                        for limit in [8 * 1024, 20, 19] {
                            var head = PartialHead()
                            let end = head.parseUsualRequestLine(placed, from: offset, limit: limit)
                            guard let end else {
                                if Review21GuardPageTests.outcome(head, nil) != Review21GuardPageTests.outcome(PartialHead(), nil) {
                                    mismatches.append("changed the head and answered nil: \(input)")
                                }
                                continue
                            }
                            read += 1
                            var decoder = HTTPRequestDecoder(limits: HTTPRequestLimits())
                            guard case .line(let lineEnd) = decoder.nextLine(placed, from: offset, limit: limit), lineEnd == end else {
                                mismatches.append("nextLine ends elsewhere: \(String(decoding: input, as: UTF8.self).debugDescription) limit \(limit)")
                                continue
                            }
                            var reference = PartialHead()
                            let error = reference.parseAnyRequestLine(UnsafeRawBufferPointer(rebasing: placed[offset..<lineEnd]))
                            if error != nil || Review21GuardPageTests.outcome(head, nil) != Review21GuardPageTests.outcome(reference, error) {
                                mismatches.append("\(String(decoding: input, as: UTF8.self).debugDescription): \(Review21GuardPageTests.outcome(head, nil))")
                            }
                        }
                    }
                }
            }
        }
        #expect(read > 1_000)
        #expect(mismatches.isEmpty, "\(mismatches.prefix(10))")
    }
}
