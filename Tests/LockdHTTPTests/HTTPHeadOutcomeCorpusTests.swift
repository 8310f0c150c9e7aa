import Foundation
import LockdTestSupport
import Testing

@testable import LockdHTTP

/// Whole-decoder outcomes on a fixed corpus of hostile heads (mutated
/// tracked names, names around the eight-byte word, targets with every
/// special byte, stray CR/LF, lines at the length limits), each decoded
/// whole and cut at every point (short inputs) or at random points. The
/// outcome of every cut must match the whole decode; with
/// `LOCKD_HEAD_OUTCOMES=<file>` the outcomes (with each error's detail) are
/// written out, so that two versions of the decoder can be diffed on them.
@Suite struct HTTPHeadOutcomeCorpusTests {
    static let limits = HTTPRequestLimits(maxRequestLineLength: 40, maxHeaderSectionLength: 96, maxHeaderCount: 6, maxBodyLength: 64)

    static func describe(_ bytes: [UInt8], cuts: [Int]) -> String {
        var decoder = HTTPRequestDecoder(limits: limits)
        var pending: [UInt8] = []
        var out: [String] = []
        var start = 0
        outer: for cut in cuts + [bytes.count] where cut >= start {
            pending.append(contentsOf: bytes[start..<cut])
            start = cut
            while true {
                var consumed = 0
                let event = pending.withUnsafeBytes { decoder.decode($0, consumed: &consumed) }
                pending.removeFirst(consumed)
                switch event {
                case .needMore: continue outer
                case .continueExpected: continue
                case .request(let request, let keepAlive):
                    out.append("\(request.method.rawValue) \(Array(request.path.utf8)) \(request.query.map { Array($0.utf8) } ?? []) \(request.version) "
                        + "\(request.headers.map { "\($0.name):\($0.value)" }) \(request.body) ka=\(keepAlive)")
                case .failure(let error):
                    out.append("fail \(error.status.code) \(error.type) \(error.detail)")
                    break outer
                }
            }
        }
        return out.joined(separator: " | ") + " pending=\(pending.count)"
    }

    static var corpus: [[UInt8]] {
        var corpus: [[UInt8]] = []
        let allBytes = Array(UInt8.min...UInt8.max)
        // Tracked names with every byte at every position, alone and with the real field.
        let tracked: [(String, String, String)] = [
            ("Host", "h", "Host: other"), ("Expect", "100-continue", "Expect: 100-continue"),
            ("Connection", "close", "Connection: keep-alive"), ("Content-Length", "5", "Content-Length: 6"),
            ("Transfer-Encoding", "chunked", "Content-Length: 5"),
        ]
        for (name, value, other) in tracked {
            let nameBytes = Array(name.utf8)
            for position in nameBytes.indices {
                for byte in allBytes {
                    var mutated = nameBytes
                    mutated[position] = byte
                    let field = mutated + Array(": \(value)\r\n".utf8)
                    let body = Array("5\r\nhello\r\n0\r\n\r\n".utf8)
                    corpus.append(Array("POST /p HTTP/1.1\r\n".utf8) + field + Array("\r\n".utf8) + body)
                    corpus.append(Array("POST /p HTTP/1.0\r\nHost: h\r\n\(other)\r\n".utf8) + field + Array("\r\n".utf8) + body)
                }
            }
        }
        // Names of 1...20 bytes with one special byte at each position.
        let specials: [UInt8] = [0x00, 0x09, 0x0A, 0x0D, 0x20, 0x21, 0x2D, 0x30, 0x3A, 0x40, 0x5B, 0x5F, 0x60, 0x7B, 0x7F, 0x80, 0xC0, 0xFF]
        let letters = Array("abcdefghijKLMNOPQRST".utf8)
        for length in 1...20 {
            for position in 0..<length {
                for special in specials {
                    var name = Array(letters[..<length])
                    name[position] = special
                    corpus.append(Array("GET / HTTP/1.1\r\nHost: h\r\n".utf8) + name + Array(": v\r\n\r\n".utf8))
                    corpus.append(Array("GET / HTTP/1.1\r\n".utf8) + name + Array(":v\r\nX: y\r\n\r\n".utf8))
                }
            }
        }
        // Targets with a special byte at each position, around the word boundary.
        let targetSpecials: [UInt8] = [0x00, 0x09, 0x0D, 0x20, 0x21, 0x23, 0x25, 0x2F, 0x3F, 0x40, 0x7E, 0x7F, 0x80, 0xFF]
        for base in ["/abcdefghijklmnopq", "http://h/abcdefgh?q", "HTTP://hostname?x", "https://h", "*", "/a?b?c#d", "/?"] {
            let bytes = Array(base.utf8)
            for position in 0...bytes.count {
                for special in targetSpecials {
                    var target = bytes
                    if position < target.count { target[position] = special } else { target.append(special) }
                    corpus.append(Array("GET ".utf8) + target + Array(" HTTP/1.1\r\nHost: h\r\n\r\n".utf8))
                    corpus.append(Array("OPTIONS ".utf8) + target + Array(" HTTP/1.0\r\n\r\n".utf8))
                }
            }
        }
        // Lines around the length limits.
        for length in 20...50 {
            corpus.append(Array("GET /".utf8) + Array(repeating: UInt8(ascii: "a"), count: length) + Array(" HTTP/1.0\r\n\r\n".utf8))
        }
        for length in 60...100 {
            corpus.append(Array("GET / HTTP/1.1\r\nHost: h\r\nX: ".utf8) + Array(repeating: UInt8(ascii: "v"), count: length) + Array("\r\n\r\n".utf8))
            corpus.append(Array("GET / HTTP/1.1\r\nA: b\r\nX: ".utf8) + Array(repeating: UInt8(ascii: "v"), count: length - 6) + Array("\r\n\r\n".utf8))
        }
        // Stray CR and LF everywhere in a short request.
        let short = Array("GET /a?b HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nok".utf8)
        for position in 0...short.count {
            for insert in [[0x0D], [0x0A], [0x0D, 0x0D], [0x0A, 0x0D], [0x0D, 0x0A], [0x00], [0x20], [0x09, 0x20]] as [[UInt8]] {
                corpus.append(Array(short[..<position]) + insert + Array(short[position...]))
            }
        }
        return corpus
    }

    @Test func everyCutDecodesAsTheWholeAndOutcomesCanBeDumped() throws {
        var random = SplitMix64(seed: 0x0022)
        var lines: [String] = []
        var mismatches: [String] = []
        for (number, input) in Self.corpus.enumerated() {
            let whole = Self.describe(input, cuts: [])
            lines.append("\(number) \(whole)")
            // Every single cut for short inputs (a CR ending a read anywhere), else a few random ones.
            let cutSets: [[Int]] = input.count <= 64
                ? (0...input.count).map { [$0] }
                : (0..<6).map { _ in (0..<3).map { _ in Int(random.next() % UInt64(input.count + 1)) }.sorted() }
            for cuts in cutSets {
                let pieces = Self.describe(input, cuts: cuts)
                // A failure may leave a different unconsumed tail; the events must agree.
                if pieces.components(separatedBy: " pending=")[0] != whole.components(separatedBy: " pending=")[0] {
                    mismatches.append("\(input) cut at \(cuts): \(pieces) vs \(whole)")
                }
            }
        }
        #expect(lines.count > 20_000)
        #expect(mismatches.isEmpty, "\(mismatches.count): \(mismatches.prefix(5))")
        if let path = ProcessInfo.processInfo.environment["LOCKD_HEAD_OUTCOMES"] {
            try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        }
    }
}
