import LockdHTTP
@testable import LockdHTTPCompression
import LockdTestSupport
import Testing

/// Review 14 (issue 22, wip-http27: `Accept-Encoding` read as bytes, in one
/// pass, for every promised request): what a request's fields allow must be
/// what it was, for every value — against a reference that is main's
/// (a28eb02) string reading, copied here whole. Random values are built from
/// the pieces a parser can trip on (the codings in every case, `x-gzip`,
/// `*`, near-misses, qvalues good and bad, `q`/`Q`, other parameters,
/// spaces, tabs, commas, semicolons, quotes, `=`, non-ASCII), read both as
/// field values and as a request's headers (one field or several).
@Suite struct AcceptEncodingDifferentialReviewTests {
    /// Main's reading (a28eb02 `AcceptEncoding.init(_:isPresent:)`), as weights.
    struct Reference: Equatable, CustomStringConvertible {
        var isPresent: Bool
        var gzip: Int?
        var identity: Int?
        var wildcard: Int?

        var description: String { "present \(isPresent) gzip \(gzip.map(String.init) ?? "-") identity \(identity.map(String.init) ?? "-") * \(wildcard.map(String.init) ?? "-")" }

        init(_ fieldValues: [String], isPresent: Bool = true) {
            self.isPresent = isPresent
            for value in fieldValues {
                for element in Self.listElements(value) {
                    guard let (coding, weight) = Self.parse(element) else { continue }
                    if Self.equalsIgnoringCase(coding, "gzip") || Self.equalsIgnoringCase(coding, "x-gzip") {
                        gzip = min(gzip ?? weight, weight)
                    } else if Self.equalsIgnoringCase(coding, "identity") {
                        identity = min(identity ?? weight, weight)
                    } else if coding == "*" {
                        wildcard = min(wildcard ?? weight, weight)
                    }
                }
            }
        }

        init(_ accept: AcceptEncoding) {
            isPresent = accept.isPresent
            gzip = accept.gzip
            identity = accept.identity
            wildcard = accept.wildcard
        }

        static func listElements(_ value: String) -> [Substring] {
            value.split(separator: ",").compactMap { element in
                var trimmed = element
                while let first = trimmed.first, first == " " || first == "\t" { trimmed.removeFirst() }
                while let last = trimmed.last, last == " " || last == "\t" { trimmed.removeLast() }
                return trimmed.isEmpty ? nil : trimmed
            }
        }

        static func trimmingSpaces(_ text: Substring) -> Substring {
            var text = text
            while let first = text.first, first == " " || first == "\t" { text.removeFirst() }
            while let last = text.last, last == " " || last == "\t" { text.removeLast() }
            return text
        }

        /// RFC 9110's tchar.
        static func isToken(_ byte: UInt8) -> Bool {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
            default: Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
            }
        }

        static func lowercased(_ byte: UInt8) -> UInt8 {
            (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte + 32 : byte
        }

        static func equalsIgnoringCase(_ text: Substring, _ lowercase: String) -> Bool {
            let bytes = Array(text.utf8)
            let expected = Array(lowercase.utf8)
            return bytes.count == expected.count && zip(bytes, expected).allSatisfy { lowercased($0) == $1 }
        }

        static func parse(_ element: Substring) -> (coding: Substring, weight: Int)? {
            var parts = element.split(separator: ";", omittingEmptySubsequences: false).makeIterator()
            guard let coding = parts.next().map(trimmingSpaces), !coding.isEmpty, coding.utf8.allSatisfy(isToken) else {
                return nil
            }
            var weight: Int?
            while let parameter = parts.next().map(trimmingSpaces) {
                let bytes = Array(parameter.utf8)
                guard weight == nil, bytes.count >= 2, lowercased(bytes[0]) == UInt8(ascii: "q"), bytes[1] == UInt8(ascii: "="),
                      let value = AcceptEncoding.qvalue(bytes.dropFirst(2))  // unchanged since a28eb02; AcceptEncodingTests.weights pins it
                else { return nil }
                weight = value
            }
            return (coding, weight ?? 1000)
        }
    }

    static let pieces = [
        "gzip", "GZIP", "GzIp", "x-gzip", "X-GZIP", "x-GZip", "identity", "IDENTITY", "iDeNtItY", "*", "br", "deflate", "compress",
        "gzi", "gzipp", "gzip2", "xgzip", "x_gzip", "identit", "identityy", "identity1", "**", "gzip/1", "gz\"ip", "\"gzip\"",
        ";q=0", ";q=1", ";q=0.5", ";q=0.123", ";q=1.000", ";q=1.0001", ";q=1.001", ";q=0.", ";q=.5", ";q=", ";q", ";Q=0", ";q =0",
        "; q=0", " ;q=0", ";q=0 ", ";q=00", ";q=0.1234", ";x=1", ";", ";;", ";q=0;q=1", ";q=0;x=1", ";level=1",
        ",", ", ", " ,", ",,", " ", "  ", "\t", " \t ", "=", "\"", "'", "a,b", "é", "ü;q=0", "\u{301}", "gzip\u{301}",
    ]

    static func randomValue(_ random: inout SplitMix64) -> String {
        var value = ""
        for _ in 0..<Int.random(in: 1...7, using: &random) {
            value += pieces[Int.random(in: 0..<pieces.count, using: &random)]
        }
        return value
    }

    @Test func everyValueIsReadAsMainReadIt() {
        var random = SplitMix64(seed: 0x4143_4345_5054)
        var mismatches: [String] = []
        for _ in 0..<60_000 {
            let value = Self.randomValue(&random)
            let expected = Reference([value])
            let read = Reference(AcceptEncoding([value]))
            if read != expected, mismatches.count < 10 { mismatches.append("\(value.debugDescription): \(read), main read \(expected)") }
        }
        #expect(mismatches.isEmpty, "\(mismatches.joined(separator: "\n"))")
    }

    @Test func everyRequestsFieldsAreReadAsMainReadThem() {
        var random = SplitMix64(seed: 0x4845_4144_4552)
        var mismatches: [String] = []
        for _ in 0..<20_000 {
            let values = (0..<Int.random(in: 0...3, using: &random)).map { _ in Self.randomValue(&random) }
            var headers = HTTPHeaders()
            headers.add(name: "Host", value: "x")
            for (index, value) in values.enumerated() {
                // The name in every case; other fields between.
                headers.add(name: ["Accept-Encoding", "accept-encoding", "ACCEPT-ENCODING", "aCCEPT-eNCODING"][index % 4], value: value)
                headers.add(name: "Accept", value: "*/*")
            }
            let expected = Reference(values, isPresent: !values.isEmpty)
            let read = Reference(AcceptEncoding(headers))
            if read != expected, mismatches.count < 10 { mismatches.append("\(values.map(\.debugDescription)): \(read), main read \(expected)") }
            #expect(AcceptEncoding(headers).preferred == AcceptEncoding(values, isPresent: !values.isEmpty).preferred)
        }
        #expect(mismatches.isEmpty, "\(mismatches.joined(separator: "\n"))")
    }
}
