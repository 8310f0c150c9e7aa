import Testing

@testable import LockdHTTP

/// Smuggling, garbage and oversized input: each must fail with the right
/// status, whole or cut anywhere.
@Suite struct HTTPRequestDecoderHostileTests {
    static let hostile: [(String, String, Int)] = [
        ("CL with TE", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
        ("TE with CL", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n", 400),
        ("differing CLs", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400),
        ("differing CL list", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 4\r\n\r\nabcd", 400),
        ("CL +5", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nabcde", 400),
        ("CL -1", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400),
        ("CL 1x", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\na", 400),
        ("CL hex", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0x10\r\n\r\n", 400),
        ("CL empty", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: \r\n\r\n", 400),
        ("CL 20 digits", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 00000000000000000001\r\n\r\na", 400),
        ("CL huge", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n", 400),
        ("CL inner space", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1 2\r\n\r\n", 400),
        ("TE gzip", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
        ("TE gzip, chunked", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501),
        ("TE identity", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n\r\n", 501),
        ("TE chunked twice", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
        ("TE empty", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: \r\n\r\n", 400),
        ("TE not a token", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: \"chunked\"\r\n\r\n", 400),
        ("bare CR in header", "GET / HTTP/1.1\r\nHost: x\rY: z\r\n\r\n", 400),
        ("bare LF ending a header", "GET / HTTP/1.1\r\nHost: x\nY: z\r\n\r\n", 400),
        ("bare LF ending the request line", "GET / HTTP/1.1\nHost: x\r\n\r\n", 400),
        ("bare LF ending the head", "GET / HTTP/1.1\r\nHost: x\r\n\n", 400),
        ("obs-fold", "GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n", 400),
        ("whitespace before first header", "GET / HTTP/1.1\r\n Host: x\r\n\r\n", 400),
        ("space before colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400),
        ("tab before colon", "GET / HTTP/1.1\r\nHost\t: x\r\n\r\n", 400),
        ("NUL in name", "GET / HTTP/1.1\r\nHo\u{0}st: x\r\n\r\n", 400),
        ("NUL in value", "GET / HTTP/1.1\r\nHost: x\u{0}y\r\n\r\n", 400),
        ("DEL in value", "GET / HTTP/1.1\r\nHost: x\u{7F}\r\n\r\n", 400),
        ("non-token name", "GET / HTTP/1.1\r\nHost: x\r\nNa{me: y\r\n\r\n", 400),
        ("empty name", "GET / HTTP/1.1\r\nHost: x\r\n: y\r\n\r\n", 400),
        ("no colon", "GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n", 400),
        ("chunk size not hex", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
        ("chunk size empty", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", 400),
        ("chunk size negative", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n", 400),
        ("chunk size overflow", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n", 400),
        ("chunk size garbage after", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5x\r\nhello\r\n0\r\n\r\n", 400),
        ("chunk size bare LF", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n", 400),
        ("chunk longer than declared", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n", 400),
        ("chunk without CRLF", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc0\r\n\r\n", 400),
        ("HTTP/2.0", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
        ("HTTP/0.9 version", "GET / HTTP/0.9\r\nHost: x\r\n\r\n", 505),
        ("HTTP/3.0", "GET / HTTP/3.0\r\nHost: x\r\n\r\n", 505),
        ("no version", "GET /\r\nHost: x\r\n\r\n", 400),
        ("lowercase version", "GET / http/1.1\r\nHost: x\r\n\r\n", 400),
        ("long version", "GET / HTTP/1.10\r\nHost: x\r\n\r\n", 400),
        ("version junk", "GET / HTTP/1.1x\r\nHost: x\r\n\r\n", 400),
        ("two spaces", "GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        ("trailing space", "GET / HTTP/1.1 \r\nHost: x\r\n\r\n", 400),
        ("tab separator", "GET\t/ HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        ("non-token method", "G(T / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        ("relative target", "GET locks HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        ("fragment", "GET /a#b HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        ("non-ASCII target", "GET /\u{E9} HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        ("star for GET", "GET * HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        ("no Host in 1.1", "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", 400),
        ("two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
        ("unknown expectation", "POST / HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\nContent-Length: 1\r\n\r\na", 417),
    ]

    @Test(arguments: hostile)
    func hostileInputFailsWithItsStatusWhereverItIsCut(_ name: String, _ text: String, _ status: Int) {
        let bytes = Array(text.utf8)
        let whole = DecodingHarness.decode(bytes)
        #expect(whole.last?.status == status, "\(name): \(whole)")
        #expect(whole.filter { $0.status == nil }.isEmpty, "\(name) produced a request: \(whole)")
        for split in 0...bytes.count {
            #expect(DecodingHarness.decode(bytes, splits: [split]) == whole, "\(name) split at \(split)")
        }
    }

    @Test func aTLSClientHelloFailsOnItsFirstByte() {
        let clientHello: [UInt8] = [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xFC, 0x03, 0x03]
        var harness = DecodingHarness()
        harness.feed(clientHello.prefix(1))
        #expect(harness.events == [.failure(status: 400, type: "invalid-request")])
    }

    @Test func identicalRepeatedContentLengthsAreAccepted() {
        let events = DecodingHarness.decode("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 2, 2\r\n\r\nab")
        #expect(events.count == 1)
        #expect(events.first?.status == nil)
    }

    // MARK: Limits

    static let small = HTTPRequestLimits(maxRequestLineLength: 64, maxHeaderSectionLength: 128, maxHeaderCount: 4, maxBodyLength: 16)

    @Test func requestLineAtTheLimitPassesAndOneByteMoreIs414() {
        let prefix = "GET /"
        let suffix = " HTTP/1.1"
        let exact = prefix + String(repeating: "a", count: 64 - prefix.count - suffix.count) + suffix
        #expect(DecodingHarness.decode(exact + "\r\nHost: x\r\n\r\n", limits: Self.small).first?.status == nil)
        let over = prefix + String(repeating: "a", count: 65 - prefix.count - suffix.count) + suffix
        #expect(DecodingHarness.decode(over + "\r\nHost: x\r\n\r\n", limits: Self.small).first?.status == 414)
        // Without a line end in sight, 414 comes as soon as the limit is passed.
        var harness = DecodingHarness(limits: Self.small)
        harness.feed(Array(("GET /" + String(repeating: "a", count: 100)).utf8))
        #expect(harness.events.first?.status == 414)
    }

    @Test func defaultRequestLineLimitIs8KiB() {
        let path = "/" + String(repeating: "p", count: 8 * 1024)
        #expect(DecodingHarness.decode("GET \(path) HTTP/1.1\r\nHost: x\r\n\r\n").first?.status == 414)
    }

    @Test func headerSectionAndCountLimitsAre431() {
        let big = "GET / HTTP/1.1\r\nHost: x\r\nX: " + String(repeating: "v", count: 200) + "\r\n\r\n"
        #expect(DecodingHarness.decode(big, limits: Self.small).first == .failure(status: 431, type: "headers-too-large"))
        let many = "GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n"
        #expect(DecodingHarness.decode(many, limits: Self.small).first?.status == 431)
        let fits = "GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"
        #expect(DecodingHarness.decode(fits, limits: Self.small).first?.status == nil)
        let defaults = "GET / HTTP/1.1\r\nHost: x\r\n" + (0..<100).map { "F\($0): v\r\n" }.joined() + "\r\n"
        #expect(DecodingHarness.decode(defaults).first?.status == 431)
    }

    @Test func bodyLimitIs413FromContentLengthAndFromChunks() {
        let declared = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 17\r\n\r\n"
        #expect(DecodingHarness.decode(declared, limits: Self.small).first == .failure(status: 413, type: "payload-too-large"))
        let chunked = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n9\r\n"
        #expect(DecodingHarness.decode(chunked, limits: Self.small).first?.status == 413)
        let fits = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n"
        #expect(DecodingHarness.decode(fits, limits: Self.small).first?.status == nil)
        let defaults = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 65537\r\n\r\n"
        #expect(DecodingHarness.decode(defaults).first?.status == 413)
    }

    @Test func trailersCountAgainstTheHeaderLimit() {
        let trailers = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nT: " + String(repeating: "t", count: 200) + "\r\n\r\n"
        #expect(DecodingHarness.decode(trailers, limits: Self.small).first?.status == 431)
    }
}
