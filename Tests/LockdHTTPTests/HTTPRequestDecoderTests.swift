import Testing

@testable import LockdHTTP

@Suite struct HTTPRequestDecoderTests {
    static let getRequest = "GET /locks/orders%3A1?prefix=a&limit=2 HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\nX-Tag: one\r\nx-tag:  two \r\n\r\n"
    static let postRequest = "POST /locks/a HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n{\"ttl\":100}"
    static let chunkedRequest = "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer-Field: dropped\r\n\r\n"
    static let pipelined = getRequest + postRequest + chunkedRequest + "GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"

    /// The eight-bytes-at-a-time skip stops at exactly the bytes the byte
    /// test stops at, whichever byte of the word they are in.
    @Test func aWordIsPlainExactlyWhenNoByteIsAControlByte() {
        for value in 0...255 {
            for position in 0..<8 {
                var bytes = Array(repeating: UInt8(ascii: "a"), count: 8)
                bytes[position] = UInt8(value)
                let word = bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
                #expect(HTTPRequestDecoder.isPlain(word) == !(value < 0x20 || value == 0x7F), "byte \(value) at \(position)")
            }
        }
    }

    /// The skip to the first control byte of a word lands on it exactly,
    /// whatever the bytes after it (a borrow may flag those too), so a
    /// line's CR, LF or stray control byte is never passed over.
    @Test func theLowestControlByteOfAWordIsFoundExactly() {
        let samples: [UInt8] = [0x00, 0x01, 0x0D, 0x0A, 0x1F, 0x20, 0x21, 0x7E, 0x7F, 0x80, 0xA0, 0xFF, UInt8(ascii: "a")]
        for first in 0..<8 {
            for value in samples where value < 0x20 || value == 0x7F {
                for after in samples {
                    var bytes = Array(repeating: UInt8(ascii: " "), count: 8)
                    bytes[first] = value
                    for position in (first + 1)..<8 { bytes[position] = after }
                    let word = bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
                    let flags = HTTPRequestDecoder.controlBytes(word)
                    #expect(flags.trailingZeroBitCount >> 3 == first, "byte \(value) at \(first), then \(after)")
                }
            }
        }
    }

    @Test func controlBytesDeepInALongLineAreRefused() {
        for value: UInt8 in [0x00, 0x01, 0x0B, 0x7F, UInt8(ascii: "\r"), UInt8(ascii: "\n")] {
            let head = Array("GET /0123456789abcdef0123456789abcdef HTTP/1.1\r\nX-Long: 0123456789abcdef012345".utf8) + [value]
                + Array("6789\r\nHost: a\r\n\r\n".utf8)
            #expect(DecodingHarness.decode(head).last?.status == 400, "byte \(value)")
        }
    }

    @Test func decodesARequestLineHeadersAndQuery() throws {
        let events = DecodingHarness.decode(Self.getRequest)
        #expect(events == [.request(
            method: "GET", path: "/locks/orders%3A1", query: "prefix=a&limit=2", version: "HTTP/1.1",
            headers: ["Host: localhost", "Accept: */*", "X-Tag: one", "x-tag: two"], body: [], keepAlive: true)])
    }

    @Test func headersLookUpCaseInsensitivelyAndKeepRepeats() throws {
        var decoder = HTTPRequestDecoder(limits: HTTPRequestLimits())
        var consumed = 0
        let event = Array(Self.getRequest.utf8).withUnsafeBytes { decoder.decode($0, consumed: &consumed) }
        guard case .request(let request, _) = event else {
            Issue.record("expected a request, got \(event)")
            return
        }
        #expect(request.headers["HOST"] == "localhost")
        #expect(request.headers.values(for: "X-TAG") == ["one", "two"])
        #expect(request.headers["missing"] == nil)
        #expect(request.method == .get)
    }

    @Test func decodesContentLengthAndChunkedBodies() {
        let events = DecodingHarness.decode(Self.postRequest + Self.chunkedRequest)
        #expect(events.count == 2)
        if case .request(_, _, _, _, _, let body, _) = events[0] { #expect(body == Array("{\"ttl\":100}".utf8)) }
        if case .request(_, let path, _, _, let headers, let body, _) = events[1] {
            #expect(path == "/c")
            #expect(body == Array("hello world".utf8))
            #expect(!headers.contains { $0.hasPrefix("Trailer-Field") })
        }
    }

    @Test(arguments: [getRequest, postRequest, chunkedRequest, pipelined])
    func everySplitPointDecodesTheSame(_ text: String) {
        let bytes = Array(text.utf8)
        let whole = DecodingHarness.decode(bytes)
        #expect(!whole.isEmpty)
        #expect(!whole.contains { $0.status != nil })
        for split in 0...bytes.count {
            #expect(DecodingHarness.decode(bytes, splits: [split]) == whole, "split at \(split)")
        }
        #expect(DecodingHarness.decode(bytes, splits: Array(0...bytes.count)) == whole, "byte by byte")
    }

    @Test func pipelinedRequestsComeOutInOrder() {
        let events = DecodingHarness.decode(Self.pipelined)
        let paths = events.compactMap { event -> String? in
            if case .request(_, let path, _, _, _, _, _) = event { return path }
            return nil
        }
        #expect(paths == ["/locks/orders%3A1", "/locks/a", "/c", "/last"])
        if case .request(_, _, _, _, _, _, let keepAlive) = events.last { #expect(!keepAlive) }
    }

    @Test(arguments: [
        ("GET / HTTP/1.1\r\nHost: x\r\n\r\n", true),
        ("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", false),
        ("GET / HTTP/1.1\r\nHost: x\r\nConnection: foo, CLOSE\r\n\r\n", false),
        ("GET / HTTP/1.0\r\n\r\n", false),
        ("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", true),
    ])
    func keepAliveFollowsVersionAndConnection(_ text: String, _ keepAlive: Bool) {
        let events = DecodingHarness.decode(text)
        guard case .request(_, _, _, _, _, _, let decoded) = events.first else {
            Issue.record("no request: \(events)")
            return
        }
        #expect(decoded == keepAlive)
    }

    @Test func absoluteFormKeepsOnlyPathAndQuery() {
        let events = DecodingHarness.decode("GET http://example.com:8080/locks?x=1 HTTP/1.1\r\nHost: example.com\r\n\r\nGET HTTP://h?y HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(events.count == 2)
        if case .request(_, let path, let query, _, _, _, _) = events[0] {
            #expect(path == "/locks")
            #expect(query == "x=1")
        }
        if case .request(_, let path, let query, _, _, _, _) = events[1] {
            #expect(path == "/")
            #expect(query == "y")
        }
    }

    @Test func emptyLinesBeforeARequestAreIgnored() {
        let events = DecodingHarness.decode("\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(events.count == 1)
        #expect(events.first?.status == nil)
    }

    @Test func higherMinorVersionIsServedAsOnePointOne() {
        let events = DecodingHarness.decode("GET / HTTP/1.7\r\nHost: x\r\n\r\n")
        if case .request(_, _, _, let version, _, _, _) = events.first { #expect(version == "HTTP/1.1") } else { Issue.record("\(events)") }
    }

    @Test func continueIsExpectedOnlyBeforeTheBodyArrives() {
        let head = "POST /x HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n"
        var waiting = DecodingHarness()
        waiting.feed(Array(head.utf8))
        #expect(waiting.events == [.continueExpected])
        waiting.feed(Array("abc".utf8))
        #expect(waiting.events.count == 2)

        var eager = DecodingHarness()
        eager.feed(Array((head + "abc").utf8))
        #expect(eager.events.count == 1)
        #expect(eager.events.first != .continueExpected)

        var http10 = DecodingHarness()
        http10.feed(Array("POST /x HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n".utf8))
        #expect(http10.events.isEmpty)
    }

    @Test func nothingIsDecodedAfterAFailure() {
        let events = DecodingHarness.decode("GET / HTTP/1.1\r\nHost: x\r\nBad Name: y\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(events == [.failure(status: 400, type: "invalid-request")])
    }

    /// A failed decoder answers every later call with its failure — the
    /// same error, detail and all — whatever bytes it is given (its state
    /// and its error are kept apart).
    @Test(arguments: [
        "GET / HTTP/1.1\r\nBad Name: y\r\n\r\n",
        "GET / HTTP/1.1\nHost: x\r\n\r\n",
        "GET / HTTP/2.0\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n",
    ])
    func aFailedDecoderRepeatsItsFailure(_ text: String) {
        var decoder = HTTPRequestDecoder(limits: HTTPRequestLimits())
        var consumed = 0
        let bytes = Array(text.utf8)
        guard case .failure(let first) = bytes.withUnsafeBytes({ decoder.decode($0, consumed: &consumed) }) else {
            Issue.record("\(text.debugDescription) did not fail")
            return
        }
        for later in [[], bytes, Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8)] {
            guard case .failure(let again) = later.withUnsafeBytes({ decoder.decode($0, consumed: &consumed) }) else {
                Issue.record("a failed decoder decoded \(later.count) bytes")
                continue
            }
            #expect(again == first && again.detail == first.detail)
        }
    }
}
