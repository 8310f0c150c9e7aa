import Testing

@testable import LockdHTTP

/// The head's scanners against the logic they replaced (kept here, byte at
/// a time, as the reference), on hostile lines: a faster scan must accept,
/// refuse and end lines exactly where the old one did. Mismatches are
/// collected and shown together (tens of thousands of cases).
@Suite struct HTTPHeadScanDifferentialTests {
    /// Bytes that matter to a line or a field name, put at every position.
    static let specials: [UInt8] = [
        0x00, 0x01, 0x09, 0x0A, 0x0B, 0x0D, 0x1F, 0x20, 0x21, 0x22, 0x28, 0x2C, 0x2D, 0x2F, 0x30, 0x39, 0x3A,
        0x3B, 0x40, 0x41, 0x5A, 0x5B, 0x5F, 0x60, 0x61, 0x7A, 0x7B, 0x7C, 0x7E, 0x7F, 0x80, 0xC3, 0xFF,
    ]

    /// Lines of 0–20 name-like bytes with one special byte at each
    /// position, followed by each kind of rest.
    static var hostileLines: [[UInt8]] {
        let base = Array("Accept-Encoding-Long".utf8)
        let rests: [[UInt8]] = [[], Array(":".utf8), Array(": v".utf8), Array(" : v".utf8), Array("\t:v".utf8), Array("x:y".utf8)]
        var lines: [[UInt8]] = []
        for length in 0...base.count {
            for rest in rests {
                lines.append(Array(base[..<length]) + rest)
                for position in 0..<max(length, 1) {
                    for special in specials {
                        var line = Array(base[..<length]) + rest
                        if position < line.count { line[position] = special } else { line.append(special) }
                        lines.append(line)
                    }
                }
            }
        }
        return lines
    }

    @Test func fieldNamesAreAcceptedAndRefusedAsByTheByteLoop() {
        var mismatches: [String] = []
        var compared = 0
        for line in Self.hostileLines where !line.isEmpty {
            line.withUnsafeBytes { line in
                compared += 1
                let expected = Self.referenceFieldColon(line)
                let actual: Result<Int, HTTPError>
                if let colon = PartialHead.fieldColon(line) {
                    actual = PartialHead.checkFieldLine(line).map { .failure($0) } ?? .success(colon)
                } else {
                    actual = PartialHead.checkFieldLine(line).map { .failure($0) }
                        ?? .failure(.invalidRequest("no colon, yet checkFieldLine accepts the line"))
                }
                if actual != expected { mismatches.append("\(Array(line)): \(actual) instead of \(expected)") }
            }
        }
        #expect(compared > 10_000)
        let mismatchCount = mismatches.count
        #expect(mismatchCount == 0, "the first: \(mismatches.prefix(20))")
    }

    @Test func linesEndAndFailWhereTheByteLoopSaid() {
        let ends: [[UInt8]] = [[0x0D, 0x0A], [0x0A], [0x0D], [0x0D, 0x0D, 0x0A], [0x0D, 0x41, 0x0D, 0x0A], []]
        var mismatches: [String] = []
        var compared = 0
        for body in Self.hostileLines where body.count <= 12 {
            for end in ends {
                let input = body + end + Array("Next: x\r\n".utf8)
                for limit in [4, 64] {
                    // Whole, and in two pieces: the second call resumes after `scanned` bytes.
                    for split in [input.count, body.count, body.count + 1] where split <= input.count {
                        compared += 1
                        var decoder = HTTPRequestDecoder(limits: HTTPRequestLimits())
                        var reference = ReferenceLineScanner()
                        let first = Array(input[..<split])
                        let firstNew = first.withUnsafeBytes { Self.describe(decoder.nextLine($0, from: 0, limit: limit)) }
                        let firstOld = first.withUnsafeBytes { reference.nextLine($0, from: 0, limit: limit) }
                        if firstNew != firstOld || decoder.scanned != reference.scanned {
                            mismatches.append("\(input) split at \(split), limit \(limit): \(firstNew) instead of \(firstOld)")
                        }
                        guard firstOld == "incomplete", split < input.count else { continue }
                        let secondNew = input.withUnsafeBytes { Self.describe(decoder.nextLine($0, from: 0, limit: limit)) }
                        let secondOld = input.withUnsafeBytes { reference.nextLine($0, from: 0, limit: limit) }
                        if secondNew != secondOld || decoder.scanned != reference.scanned {
                            mismatches.append("\(input) resumed after \(split), limit \(limit): \(secondNew) instead of \(secondOld)")
                        }
                    }
                }
            }
        }
        #expect(compared > 10_000)
        let mismatchCount = mismatches.count
        #expect(mismatchCount == 0, "the first: \(mismatches.prefix(20))")
    }

    @Test func targetsAreSplitAndRefusedAsByTheByteLoops() {
        let bases = ["/locks/orders-1?x=1&y=2", "/healthz", "/", "*", "http://Host:80/p/q?r#", "HTTPS://h?q/x", "http://h", "ftp://h/p", "a/b"]
        let specials: [UInt8] = [0x00, 0x09, 0x0D, 0x21, 0x23, 0x25, 0x2F, 0x3F, 0x40, 0x7E, 0x7F, 0x80, 0xFF]
        var targets = bases.map { Array($0.utf8) }
        for change in ByteReplacement.all(of: targets, by: specials) {
            targets.append(change.replaced)
            targets.append(Array(change.base[..<change.position]) + [change.special] + change.base + change.base)
        }
        var mismatches: [String] = []
        for method in ["GET", "OPTIONS"] {
            for target in targets {
                var head = PartialHead()
                let line = Array("\(method) ".utf8) + target + Array(" HTTP/1.1".utf8)
                let error = line.withUnsafeBytes { head.parseRequestLine($0) }
                let actual = error.map { "error \($0.detail)" } ?? "path \(String(decoding: head.pathBytes, as: UTF8.self)) query \(head.query ?? "none")"
                let expected = target.withUnsafeBytes { Self.referenceTarget($0, isOptions: method == "OPTIONS") }
                if actual != expected { mismatches.append("\(method) \(target): \(actual) instead of \(expected)") }
            }
        }
        #expect(targets.count > 1_000)
        let mismatchCount = mismatches.count
        #expect(mismatchCount == 0, "the first: \(mismatches.prefix(20))")
    }

    /// The target's checks and split as they were: a pass for the bytes,
    /// one for `#`, one for `?`.
    static func referenceTarget(_ target: UnsafeRawBufferPointer, isOptions: Bool) -> String {
        guard target.allSatisfy(HTTPSyntax.isTargetByte) else {
            return "error the request target has a byte that is not visible ASCII; percent-encode it"
        }
        guard !target.contains(UInt8(ascii: "#")) else { return "error the request target must not have a fragment (#)" }
        var pathStart = 0
        if target.first == UInt8(ascii: "*") && target.count == 1 {
            guard isOptions else { return "error the target * is only for OPTIONS" }
        } else if target.first != UInt8(ascii: "/") {
            var authorityStart: Int?
            for scheme in ["http://", "https://"] where target.count >= scheme.utf8.count {
                if zip(target, scheme.utf8).allSatisfy({ HTTPSyntax.lowercased($0) == $1 }) {
                    authorityStart = scheme.utf8.count
                    break
                }
            }
            guard let authorityStart else { return "error the request target must be a path starting with /" }
            pathStart = target[authorityStart...].firstIndex { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") } ?? target.count
        }
        let afterAuthority = UnsafeRawBufferPointer(rebasing: target[pathStart...])
        var path = String(decoding: afterAuthority, as: UTF8.self)
        var query = "none"
        if let questionMark = afterAuthority.firstIndex(of: UInt8(ascii: "?")) {
            path = String(decoding: afterAuthority[..<questionMark], as: UTF8.self)
            query = String(decoding: afterAuthority[(questionMark + 1)...], as: UTF8.self)
        }
        return "path \(path.isEmpty ? "/" : path) query \(query)"
    }

    static func describe(_ result: HTTPRequestDecoder.LineResult) -> String {
        switch result {
        case .line(let end): "line \(end)"
        case .incomplete: "incomplete"
        case .tooLong: "too long"
        case .invalid(let fault): "invalid \(fault.error.detail)"
        }
    }

    /// The field-name scan as it was: one byte at a time, the error made at once.
    static func referenceFieldColon(_ line: UnsafeRawBufferPointer) -> Result<Int, HTTPError> {
        if line[0] == HTTPSyntax.space || line[0] == HTTPSyntax.tab {
            return .failure(.invalidRequest("obsolete line folding (a field line starting with whitespace) is not accepted"))
        }
        var index = 0
        while index < line.count, HTTPSyntax.isToken(line[index]) { index += 1 }
        if index < line.count, index > 0, line[index] == HTTPSyntax.colon { return .success(index) }
        if index < line.count, line[index] != HTTPSyntax.colon, line[index...].contains(HTTPSyntax.colon) {
            let byte = line[index]
            return .failure(.invalidRequest(byte == HTTPSyntax.space || byte == HTTPSyntax.tab
                ? "whitespace between a field name and ':' is not allowed"
                : "a field name has a byte that is not a token character"))
        }
        return .failure(.invalidRequest("a header field line has no name followed by ':'"))
    }

    /// The line scan as it was: a CR's line ended one turn later, at its LF.
    struct ReferenceLineScanner {
        var scanned = 0

        mutating func nextLine(_ input: UnsafeRawBufferPointer, from start: Int, limit: Int) -> String {
            var index = start + scanned
            while index < input.count {
                let byte = input[index]
                if byte == HTTPSyntax.lf {
                    guard index > start, input[index - 1] == HTTPSyntax.cr else {
                        return "invalid bare LF: lines must end with CRLF"
                    }
                    scanned = 0
                    guard index - 1 - start <= limit else { return "too long" }
                    return "line \(index - 1)"
                }
                if byte == HTTPSyntax.cr {
                    if index + 1 < input.count, input[index + 1] != HTTPSyntax.lf {
                        return "invalid bare CR: CR must be followed by LF"
                    }
                } else if HTTPSyntax.isForbiddenControl(byte) {
                    return "invalid control byte 0x\(String(byte, radix: 16)) in the request head"
                }
                index += 1
            }
            scanned = index - start - (index > start && input[index - 1] == HTTPSyntax.cr ? 1 : 0)
            return scanned > limit ? "too long" : "incomplete"
        }
    }
}
