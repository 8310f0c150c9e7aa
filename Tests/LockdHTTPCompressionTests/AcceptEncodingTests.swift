import LockdHTTP
import LockdTestSupport
import Testing

@testable import LockdHTTPCompression

@Suite("Accept-Encoding negotiation (RFC 9110 §12.5.3)")
struct AcceptEncodingTests {
    private func preferred(_ values: String...) -> ContentCoding? {
        AcceptEncoding(values).preferred
    }

    @Test("no Accept-Encoding field: identity, since the client may not decode gzip")
    func absentFieldIsIdentity() {
        #expect(AcceptEncoding(HTTPHeaders()).preferred == .identity)
        #expect(AcceptEncoding(["User-Agent": "curl/8"]).preferred == .identity)
    }

    @Test("gzip is chosen when accepted", arguments: [
        "gzip",
        "GZip",
        "x-gzip",
        "gzip;q=1",
        "gzip; q=0.5",
        "gzip;Q=0.001",
        "*",
        "*;q=0.3",
        "gzip;q=0.5, identity;q=0.5",
        "gzip;q=0.2, *;q=0.1",
        "identity;q=0, gzip",
        "*;q=0, gzip",
        // Browsers and common clients, as they send it.
        "gzip, deflate, br, zstd",
        "gzip, deflate, br",
        "gzip, deflate",
        "deflate, gzip;q=1.0, *;q=0.5",
        "br;q=1.0, gzip;q=0.8, *;q=0.1",
        "identity, gzip",
    ])
    func gzipWhenAccepted(_ value: String) {
        #expect(preferred(value) == .gzip, "\(value)")
    }

    @Test("identity when gzip is refused, unknown or weighed lower", arguments: [
        "",
        "identity",
        "gzip;q=0",
        "gzip;q=0.000",
        "x-gzip;q=0",
        "br",
        "br, zstd, deflate",
        "gzip;q=0, *",
        "*;q=0.5, gzip;q=0",
        "gzip;q=0.5, identity",
        "gzip;q=0.2, identity;q=0.9",
        "gzip;q=0.2, *;q=0.9",
        "gzip, gzip;q=0",
        "gzip;q=0, gzip",
        "*;q=0, identity",
        "*;q=0, identity;q=0.1",
    ])
    func identityOtherwise(_ value: String) {
        #expect(preferred(value) == .identity, "\(value)")
    }

    @Test("nothing acceptable when identity is refused and gzip is not accepted", arguments: [
        "identity;q=0",
        "*;q=0",
        "br, identity;q=0",
        "gzip;q=0, identity;q=0",
        "*;q=0, gzip;q=0",
        "br, *;q=0",
    ])
    func nothingAcceptable(_ value: String) {
        #expect(preferred(value) == nil, "\(value)")
    }

    @Test("malformed elements are ignored, as if not sent", arguments: [
        ("gzip;q=2", ContentCoding.identity),
        ("gzip;q=1.5", .identity),
        ("gzip;q=0.1234", .identity),
        ("gzip;q=", .identity),
        ("gzip;q=abc", .identity),
        ("gzip;q = 0.5", .identity),
        ("gzip;level=9", .identity),
        ("gzip;q=0.5;q=0.6", .identity),
        ("gz ip", .identity),
        ("gzip\"", .identity),
        (";q=0.5", .identity),
        ("gzip;q=2, gzip", .gzip),
        ("identity;q=x, gzip;q=0", .identity),
        (",,, gzip ,", .gzip),
        ("  gzip  ;  q=0.7  ", .gzip),
        ("\tgzip\t", .gzip),
        ("ĝzip, gzip", .gzip),
        // A comma or semicolon a combining mark joins is one character with
        // it, no separator: the whole element is malformed.
        ("gzip,\u{301}identity;q=0", .identity),
        ("gzip;q=0.5, gzip;\u{301}q=0", .gzip),
        ("gzip;q=0,\tidentity", .identity),
        ("gzip;;q=1", .identity),
        ("gzip;", .identity),
        ("*", .gzip),
        ("**", .identity),
    ])
    func malformedElements(_ value: String, _ expected: ContentCoding) {
        #expect(preferred(value) == expected, "\(value)")
    }

    @Test("read from a request's headers as from its field values", arguments: [
        "", "identity", "gzip", "GZIP;Q=0.5, IDENTITY;Q=0.4", "gzip, deflate, br, zstd", "identity;q=0", "*;q=0, x-gzip;q=0.001",
        "gzip;q=2, gzip", ",,, gzip ,", "  gzip  ;  q=0.7  ", "\tgzip\t", "gzip;q = 0.5", "gz ip", ";q=0.5",
        "ĝzip, gzip", "gzip,\u{301}identity;q=0", "identity;q=0, gzip;\u{301}q=0", "gzip\u{7F}, identity;q=0",
    ])
    func headersAsFieldValues(_ value: String) {
        let headers: HTTPHeaders = ["Host": "x", "Accept-Encoding": value]
        #expect(AcceptEncoding(headers) == AcceptEncoding([value]), "\(value)")
    }

    /// The four- and eight-byte values read whole by one word (wip-http30),
    /// and values of those lengths that are not what the word says.
    @Test("whole gzip and identity values read as the string reading reads them", arguments: [
        "gzip", "GZIP", "gZiP", "identity", "IDENTITY", "Identity", "gzip, br", "gzip;q=0", "gzip,abc", "identit1",
        "identit", "identityy", "gzi", "gzipp", "gzi\u{7F}", "x-gz", "*;q=0.5", "gzip\t", " gzip", "gzip   ",
    ])
    func wholeWordValues(_ value: String) {
        let headers: HTTPHeaders = ["Accept-Encoding": value]
        #expect(AcceptEncoding(headers) == AcceptEncoding(readingAsString: value), "\(value.debugDescription)")
        #expect(AcceptEncoding([value]) == AcceptEncoding(readingAsString: value), "\(value.debugDescription)")
    }

    @Test("the byte reading agrees with the string reading on random values")
    func bytesAgreeWithStrings() {
        // Seeded: a failure names its value, and repeats.
        var generator = SplitMix64(seed: 0x5EED_AE)
        let pieces = ["gzip", "GZIP", "x-gzip", "identity", "*", "br", "q", "Q", "=", "0", "1", ".", "5", "000", "0.5",
                      ",", ";", " ", "\t", "\"", "(", "-", "q=", ";q=", ";q=0", ";q=1.0", ", ", "x", "\u{301}", "ĝ"]
        for _ in 0..<20_000 {
            let value = (0..<Int.random(in: 1...8, using: &generator)).map { _ in pieces.randomElement(using: &generator) ?? "" }.joined()
            let headers: HTTPHeaders = ["Accept-Encoding": value]
            #expect(AcceptEncoding([value]) == AcceptEncoding(readingAsString: value), "\(value.debugDescription)")
            #expect(AcceptEncoding(headers) == AcceptEncoding(readingAsString: value), "\(value.debugDescription)")
        }
    }

    @Test("several fields are one list")
    func severalFields() {
        var headers = HTTPHeaders()
        headers.add(name: "Accept-Encoding", value: "br")
        headers.add(name: "accept-encoding", value: "gzip;q=0.5")
        #expect(AcceptEncoding(headers).preferred == .gzip)
        headers.add(name: "ACCEPT-ENCODING", value: "gzip;q=0")
        #expect(AcceptEncoding(headers).preferred == .identity)
    }

    @Test("an empty field means no coding but identity")
    func emptyField() {
        let headers: HTTPHeaders = ["Accept-Encoding": ""]
        let accept = AcceptEncoding(headers)
        #expect(accept.isPresent)
        #expect(accept.preferred == .identity)
    }

    @Test("weights are read in thousandths")
    func weights() {
        let accept = AcceptEncoding(["gzip;q=0.25, identity;q=0.5, *;q=1.000"])
        #expect(accept.gzip == 250)
        #expect(accept.identity == 500)
        #expect(accept.wildcard == 1000)
        #expect(AcceptEncoding.qvalue("0.".utf8) == 0)
        #expect(AcceptEncoding.qvalue("1.".utf8) == 1000)
        #expect(AcceptEncoding.qvalue("0.999".utf8) == 999)
        #expect(AcceptEncoding.qvalue("1.001".utf8) == nil)
        #expect(AcceptEncoding.qvalue(".5".utf8) == nil)
        #expect(AcceptEncoding.qvalue("00".utf8) == nil)
    }
}
