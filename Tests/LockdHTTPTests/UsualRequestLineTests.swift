import Testing

@testable import LockdHTTP

/// The usual request line's reading (``PartialHead/parseUsualRequestLine(_:)``)
/// must answer as the full parse (``PartialHead/parseAnyRequestLine(_:)``)
/// wherever it answers, and leave every other line to it untouched.
@Suite struct UsualRequestLineTests {
    @Test func theMethodWordsAreTheTextAsLoadedFromMemory() {
        func word(_ text: String) -> UInt64 {
            var bytes = Array(text.utf8)
            bytes += Array(repeating: 0, count: 8 - bytes.count)
            return bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        }
        #expect(word("GET ") == PartialHead.getWord)
        #expect(word("PUT ") == PartialHead.putWord)
        #expect(word("POST ") == PartialHead.postWord)
        #expect(word("HEAD ") == PartialHead.headWord)
        #expect(word("DELETE ") == PartialHead.deleteWord)
    }

    @Test func theLinesClientsSendAreReadByTheUsualLine() {
        for line in ["GET /healthz HTTP/1.1", "POST /locks/instr-lock-17 HTTP/1.1", "DELETE /locks/instr-lock-17 HTTP/1.1",
                     "HEAD / HTTP/1.1", "PUT /a HTTP/1.1", "GET /metrics HTTP/1.1", "POST /locks/a%2Fb/renew HTTP/1.1"] {
            var head = PartialHead()
            let read = Array(line.utf8).withUnsafeBytes { head.parseUsualRequestLine($0) }
            #expect(read, "\(line)")
            var reference = PartialHead()
            let error = Array(line.utf8).withUnsafeBytes { reference.parseAnyRequestLine($0) }
            #expect(error == nil)
            #expect(Self.outcome(head, nil) == Self.outcome(reference, nil), "\(line)")
        }
    }

    @Test func everyLineIsReadAsTheFullParseReadsIt() {
        let methods = ["GET", "PUT", "POST", "HEAD", "DELETE", "PATCH", "OPTIONS", "get", "GETS", "POSTS", "DELETES", "HEADS",
                       "GE", "P", "DELET", "M-SEARCH", "G\tT", "POS\u{7F}"]
        let versions = ["HTTP/1.1", "HTTP/1.0", "HTTP/1.2", "http/1.1", "HTTP/1.1 ", " HTTP/1.1", "HTTP/11", "HTTP/2.0", ""]
        let bases = ["/", "/healthz", "/locks/instr-lock-123", "/locks/a/renew", "/abcdefg", "/abcdefgh", "/abcdefghi",
                     "/0123456789abcde", "/0123456789abcdef", "*", "http://h/p", "", "a"]
        // Bytes that matter to a target: controls, HTAB, SP, the marks
        // `!`, `#`, `%`, `/`, `?`, `~`, DEL and obs-text.
        let specials: [UInt8] = [0x00, 0x09, 0x20, 0x21, 0x23, 0x25, 0x2F, 0x3F, 0x7E, 0x7F, 0x80, 0xFF]
        var targets = bases.map { Array($0.utf8) }
        targets += ByteReplacement.all(of: targets, by: specials).map(\.replaced)
        targets += bases.flatMap { base in specials.map { Array(base.utf8) + [$0] } }
        var lines: [[UInt8]] = []
        for method in methods {
            for version in versions {
                for target in targets {
                    lines.append(Array(method.utf8) + [0x20] + target + [0x20] + Array(version.utf8))
                }
                // Two spaces, or none, between the parts.
                lines.append(Array(method.utf8) + [0x20, 0x20] + Array("/a".utf8) + [0x20] + Array(version.utf8))
                lines.append(Array(method.utf8) + Array("/a".utf8) + [0x20] + Array(version.utf8))
                lines.append(Array(method.utf8) + [0x20] + Array("/a".utf8) + Array(version.utf8))
            }
        }
        // Random lines built from the same parts, with one byte changed.
        var random = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            var line = Array(methods.randomElement(using: &random)!.utf8) + [0x20] + targets.randomElement(using: &random)!
                + [0x20] + Array(versions.randomElement(using: &random)!.utf8)
            if Bool.random(using: &random), !line.isEmpty {
                line[Int.random(in: 0..<line.count, using: &random)] = specials.randomElement(using: &random)!
            }
            lines.append(line)
        }
        Self.readFromTheInputAsTheLineIsRead(lines)
        var mismatches: [String] = []
        var usualCount = 0
        for line in lines {
            // Both heads start from a used one: the storage of an earlier path.
            var head = PartialHead()
            var reference = PartialHead()
            head.pathBytes = Array("/an/earlier/path/of/some/length".utf8)
            reference.pathBytes = head.pathBytes
            let before = Self.outcome(head, nil)
            let read = line.withUnsafeBytes { head.parseUsualRequestLine($0) }
            if read {
                usualCount += 1
            } else if Self.outcome(head, nil) != before {
                mismatches.append("\(Array(line)): changed the head and returned false")
                continue
            }
            let error = read ? nil : line.withUnsafeBytes { head.parseAnyRequestLine($0) }
            let expected = line.withUnsafeBytes { reference.parseAnyRequestLine($0) }
            let actual = Self.outcome(head, error), wanted = Self.outcome(reference, expected)
            if actual != wanted { mismatches.append("\(String(decoding: line, as: UTF8.self)): \(actual) instead of \(wanted)") }
        }
        #expect(lines.count > 30_000)
        #expect(usualCount > 1_000)
        let mismatchCount = mismatches.count
        #expect(mismatchCount == 0, "the first: \(mismatches.prefix(20))")
    }

    /// One head reads line after line (as the decoder's does, its path's
    /// storage kept): a path as long as the one held is written over it in
    /// place, any other replaces it; a copy of the held path taken before
    /// stays as it was.
    @Test func pathsOfEveryLengthReplaceTheOneHeld() {
        let paths = ["/locks/a-1", "/locks/b-2", "/locks/c-33", "/locks/d-4", "/healthz", "/healthy", "/", "/x",
                     "/" + String(repeating: "p", count: 40), "/" + String(repeating: "q", count: 40), "/" + String(repeating: "r", count: 100),
                     "/locks/e?x=1", "/locks/f?y=2", "/locks/g"]
        var head = PartialHead()
        var kept: [[UInt8]] = []
        for (index, path) in paths.enumerated() {
            let before = head.pathBytes
            let line = Array("\(index % 2 == 0 ? "GET" : "DELETE") \(path) HTTP/1.1".utf8)
            let error = line.withUnsafeBytes { head.parseRequestLine($0) }
            #expect(error == nil)
            let expected = path.split(separator: "?", maxSplits: 1).first.map { Array($0.utf8) } ?? []
            #expect(head.pathBytes == expected, "\(path)")
            kept.append(before)
            head.query = nil
        }
        // The copies taken before each line still hold the path before it.
        #expect(kept.dropFirst().map { String(decoding: $0, as: UTF8.self) }
            == paths.dropLast().map { String($0.split(separator: "?", maxSplits: 1)[0]) })
    }

    /// The line read from the decoder's input (its end found by the path's
    /// scan) answers as the line read whole: the same head, its CR where
    /// the line ends — followed by more bytes, by nothing, by a bare CR or
    /// LF, cut short, at an offset, within a limit or one byte over it.
    static func readFromTheInputAsTheLineIsRead(_ lines: [[UInt8]]) {
        var mismatches: [String] = []
        var read = 0
        // Every eleventh line (the corpus is large for a debug build), and
        // every line the usual reading takes.
        for (index, line) in lines.enumerated()
        where index % 11 == 0 || line.withUnsafeBytes({ var head = PartialHead(); return head.parseUsualRequestLine($0) }) {
            for tail in ["\r\n", "\r\nHost: x\r\n\r\n", "\r", "\n", "\r\r\n", ""] {
                for offset in [0, 3] {
                    let input = Array(repeating: UInt8(ascii: "z"), count: offset) + line + Array(tail.utf8)
                    let whole = tail.hasPrefix("\r\n")
                    for limit in [8 * 1024, line.count, line.count - 1] {
                        var head = PartialHead(), reference = PartialHead()
                        let end = input.withUnsafeBytes { head.parseUsualRequestLine($0, from: offset, limit: limit) }
                        let lineRead = line.withUnsafeBytes { reference.parseUsualRequestLine($0) }
                        let expected = whole && lineRead && line.count <= limit
                        if end != nil { read += 1 }
                        if (end != nil) != expected || (end != nil && end != offset + line.count)
                            || (expected && outcome(head, nil) != outcome(reference, nil))
                            || (!expected && outcome(head, nil) != outcome(PartialHead(), nil)) {
                            mismatches.append("\(String(decoding: line, as: UTF8.self)) tail \(tail.debugDescription) offset \(offset) limit \(limit): \(String(describing: end))")
                        }
                    }
                }
            }
        }
        #expect(read > 1_000)
        let mismatchCount = mismatches.count
        #expect(mismatchCount == 0, "the first: \(mismatches.prefix(20))")
    }

    /// What a parse left: its error, or the method, `HEAD` flag, version, path and query.
    static func outcome(_ head: PartialHead, _ error: HTTPError?) -> String {
        if let error { return "error \(error.status.code) \(error.type) \(error.detail)" }
        return "\(head.method.rawValue) head \(head.isHead) \(head.version) path \(head.pathBytes) query \(head.query ?? "none")"
    }
}
