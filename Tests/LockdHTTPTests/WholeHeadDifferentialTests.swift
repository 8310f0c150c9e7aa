import LockdTestSupport
import Testing

@testable import LockdHTTP

/// Whole heads, generated and mutated, decoded three ways: whole (each
/// field line read by ``PartialHead/usualFieldLine(_:from:limit:)`` where it
/// can, by the one-pass line where not), a byte at a time (each line found
/// by ``HTTPRequestDecoder/nextLine(_:from:limit:)`` and added by
/// ``PartialHead/addField(_:maxCount:)``: the general path, the reference),
/// and cut at random points. Every head must give the same request — the
/// same fields and values — or the same error, with its detail.
@Suite struct WholeHeadDifferentialTests {
    static let names = [
        "Host", "Accept-Encoding", "Content-Type", "Content-Length", "Lock-Token", "User-Agent", "Connection", "Expect",
        "Transfer-Encoding", "X-A-Name-Longer-Than-Sixteen", "x", "ACCEPT", "If-None-Match",
    ]
    static let values = [
        "127.0.0.1:8080", "identity", "application/json", "5", "0123456789abcdef0123456789abcdef", "lockd/1.0", "close",
        "keep-alive", "100-continue", "chunked", "", " ", "a, b", "gzip;q=1.0, identity;q=0.5", "\u{e9}t\u{e9}",
    ]
    /// Bytes a mutation puts in: control bytes, HTAB, CR, LF, SP, `:`, DEL, obs-text, token marks.
    static let specials: [UInt8] = [0x00, 0x01, 0x09, 0x0A, 0x0D, 0x1F, 0x20, 0x21, 0x2C, 0x3A, 0x3B, 0x7F, 0x80, 0xA0, 0xC3, 0xFF]

    static func head(_ random: inout SplitMix64) -> [UInt8] {
        var lines: [[UInt8]] = []
        let count = Int(random.next() % 9)
        for _ in 0..<count {
            let name = names[Int(random.next() % UInt64(names.count))]
            let value = values[Int(random.next() % UInt64(values.count))]
            let separator = [":", ": ", ": ", ": ", ":  ", ":\t", ": \t ", " :"][Int(random.next() % 8)]
            let trailing = ["", "", "", "", "", " ", "  ", "\t"][Int(random.next() % 8)]
            lines.append(Array("\(name)\(separator)\(value)\(trailing)".utf8))
        }
        // Mutations: a byte changed, put in or dropped; a line repeated,
        // folded, made long; a line's end made bare.
        for _ in 0..<Int(random.next() % 3) where !lines.isEmpty {
            let which = Int(random.next() % UInt64(lines.count))
            var line = lines[which]
            let position = Int(random.next() % UInt64(line.count + 1))
            switch random.next() % 8 {
            case 0 where position < line.count: line[position] = specials[Int(random.next() % UInt64(specials.count))]
            case 1: line.insert(specials[Int(random.next() % UInt64(specials.count))], at: position)
            case 2 where position < line.count: line.remove(at: position)
            case 3: lines.append(line)
            case 4: line.insert([0x20, 0x09][Int(random.next() % 2)], at: 0)
            case 5: line += Array(repeating: UInt8(ascii: "v"), count: Int(random.next() % 120))
            case 6 where position < line.count: line[position] = UInt8(truncatingIfNeeded: random.next())
            default: line += [[0x0D], [0x0A]][Int(random.next() % 2)]
            }
            lines[which] = line
        }
        let requestLine = random.next() % 2 == 0 ? "POST /locks/a HTTP/1.1\r\n" : "GET /healthz HTTP/1.1\r\n"
        var bytes = Array(requestLine.utf8)
        // An HTTP/1.1 head without one Host is refused whatever its fields: most heads have one.
        if random.next() % 8 != 0 { bytes += Array("Host: lockd\r\n".utf8) }
        for line in lines { bytes += line + [0x0D, 0x0A] }
        bytes += [0x0D, 0x0A]
        if random.next() % 2 == 0 { bytes += Array("{\"ttl_ms\":30000}".utf8) }
        return bytes
    }

    @Test func generatedHeadsDecodeWholeAsByteByByteAndCut() {
        var random = SplitMix64(seed: 0x4EAD_33)
        // Sections the heads do not outgrow: a line over the section's
        // limit and refused for a byte too is told apart by where the
        // input is cut (too long, while it is incomplete; the byte, once it
        // is whole), in the general path as before. Under limits the heads
        // reach, PlainFieldLinesDifferentialTests holds the new loop to the old.
        let limitSets = [
            HTTPRequestLimits(maxRequestLineLength: 64, maxHeaderSectionLength: 4_096, maxHeaderCount: 6, maxBodyLength: 64),
            HTTPRequestLimits(maxRequestLineLength: 64, maxHeaderSectionLength: 4_096, maxHeaderCount: 8, maxBodyLength: 64),
            HTTPRequestLimits(),
        ]
        var mismatches: [String] = []
        var compared = 0, requests = 0
        for iteration in 0..<12_000 {
            let head = Self.head(&random)
            let limits = limitSets[iteration % limitSets.count]
            let whole = DecodingHarness.decode(head, limits: limits)
            let byByte = DecodingHarness.decode(head, splits: Array(1..<head.count), limits: limits)
            let cuts = (0..<Int(random.next() % 4)).map { _ in Int(random.next() % UInt64(head.count + 1)) }.sorted()
            let cut = DecodingHarness.decode(head, splits: cuts, limits: limits)
            compared += 1
            if case .request = whole.first { requests += 1 }
            if whole != byByte || whole != cut {
                mismatches.append("\(String(decoding: head, as: UTF8.self).debugDescription): \(whole) / \(byByte) / cut at \(cuts): \(cut)")
            }
        }
        #expect(compared == 12_000)
        #expect(requests > 1_000, "\(requests): too few heads accepted to compare their fields")
        let mismatchCount = mismatches.count
        #expect(mismatchCount == 0, "the first: \(mismatches.prefix(5))")
    }

    /// Field counts at the limit and sections at their length, in usual lines.
    @Test func countsAndSectionsAtTheirLimitsDecodeAlike() {
        var mismatches: [String] = []
        for count in 0...9 {
            for padding in 0...40 {
                var head = Array("GET / HTTP/1.1\r\nHost: h\r\n".utf8)
                for index in 0..<count { head += Array("X-\(index): value\r\n".utf8) }
                head += Array("Accept-Encoding: \(String(repeating: "i", count: padding))\r\n\r\n".utf8)
                let whole = HTTPHeadOutcomeCorpusTests.describe(head, cuts: [])
                let byByte = HTTPHeadOutcomeCorpusTests.describe(head, cuts: Array(1..<head.count))
                if whole.components(separatedBy: " pending=")[0] != byByte.components(separatedBy: " pending=")[0] {
                    mismatches.append("\(count) fields, \(padding): \(whole) vs \(byByte)")
                }
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.count): \(mismatches.prefix(5))")
    }
}
