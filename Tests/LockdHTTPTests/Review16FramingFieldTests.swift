import Testing

@testable import LockdHTTP

/// review16: `Host` and a single-number `Content-Length` are told by whole
/// words on the one-pass field path (wip-http29), and the head's blank
/// line found in place. Names in any case, near misses, duplicates, lists,
/// signs and leading zeros must decide framing as they did — whole in one
/// read, and fed a byte at a time (the general path).
@Suite struct Review16FramingFieldTests {
    /// A head (and what follows it), and how its decoding must begin.
    static let cases: [(head: String, outcome: String)] = [
        ("GET / HTTP/1.1\r\nHOST: h\r\n\r\n", "GET "),
        ("GET / HTTP/1.1\r\nhOsT: h\r\n\r\n", "GET "),
        ("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", "fail 400"),
        ("GET / HTTP/1.1\r\nHost: a\r\nX: y\r\nHOST: a\r\n\r\n", "fail 400"),
        ("GET / HTTP/1.1\r\nHosts: h\r\n\r\n", "fail 400"),
        ("GET / HTTP/1.1\r\nHos: h\r\n\r\n", "fail 400"),
        ("GET / HTTP/1.1\r\nHosu: h\r\n\r\n", "fail 400"),
        ("GET / HTTP/1.0\r\n\r\n", "GET "),
        ("POST /p HTTP/1.1\r\nHost: h\r\nCONTENT-LENGTH: 3\r\n\r\nabc", "POST [47, 112] … [97, 98, 99] ka="),
        ("POST /p HTTP/1.1\r\nHost: h\r\ncontent-length: 3\r\n\r\nabc", "POST [47, 112] … [97, 98, 99] ka="),
        ("POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 03\r\n\r\nabc", "POST [47, 112] … [97, 98, 99] ka="),
        ("POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\ncontent-LENGTH: 3\r\n\r\nabc", "POST "),
        ("POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 3\r\n\r\nabc", "POST "),
        ("POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", "fail 400"),
        ("POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 4\r\n\r\nabcd", "fail 400"),
        ("POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: +3\r\n\r\nabc", "fail 400"),
        ("POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: -3\r\n\r\nabc", "fail 400"),
        ("POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: \r\n\r\nabc", "fail 400"),
        ("POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 3x\r\n\r\nabc", "fail 400"),
        ("POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 9999999999999999999\r\n\r\n", "fail 400"),
        ("POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 999999999999999999\r\n\r\n", "fail 413"),
        ("POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabc", "fail 400"),
        ("POST /p HTTP/1.1\r\nHost: h\r\ntransfer-encoding: chunked\r\ncontent-length: 3\r\n\r\nabc", "fail 400"),
        // Near misses of Content-Length: no framing, so no body.
        ("POST /p HTTP/1.1\r\nHost: h\r\nContent-Lengtx: 3\r\n\r\n", "POST [47, 112] … [] ka="),
        ("POST /p HTTP/1.1\r\nHost: h\r\nContent_Length: 3\r\n\r\n", "POST [47, 112] … [] ka="),
        ("POST /p HTTP/1.1\r\nHost: h\r\nXontent-Length: 3\r\n\r\n", "POST [47, 112] … [] ka="),
        // The blank line: right after the request line's fields, pipelined, and a bare LF.
        ("GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n", "GET [47, 97]"),
        ("GET /a HTTP/1.1\r\nHost: h\r\n\n", "fail 400"),
        ("GET /a HTTP/1.1\r\nHost: h\r\n\r\r\n", "fail 400"),
    ]

    @Test func framingFieldsDecideAsTheyDidWholeAndByteByByte() {
        for (head, outcome) in Self.cases {
            let bytes = Array(head.utf8)
            let whole = HTTPHeadOutcomeCorpusTests.describe(bytes, cuts: [])
            let byByte = HTTPHeadOutcomeCorpusTests.describe(bytes, cuts: Array(1..<bytes.count))
            // "A … B": begins with A, and B follows (a body's bytes, then its keep-alive).
            let parts = outcome.components(separatedBy: " … ")
            #expect(whole.hasPrefix(parts[0]), "\(head.debugDescription): \(whole)")
            if parts.count > 1 { #expect(whole.components(separatedBy: " | ")[0].contains(parts[1]), "\(head.debugDescription): \(whole)") }
            #expect(whole.components(separatedBy: " pending=")[0] == byByte.components(separatedBy: " pending=")[0],
                    "\(head.debugDescription): \(whole) vs \(byByte)")
        }
        // Two pipelined requests both come out of one read.
        let pipelined = HTTPHeadOutcomeCorpusTests.describe(Array("GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n".utf8), cuts: [])
        #expect(pipelined.contains("GET [47, 97]") && pipelined.contains("GET [47, 98]"), "\(pipelined)")
    }
}
