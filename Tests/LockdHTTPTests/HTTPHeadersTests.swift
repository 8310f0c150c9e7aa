import Testing

@testable import LockdHTTP

/// ``HTTPHeaders`` keeps its fields as bytes in one array and makes strings
/// when they are read: the API must behave as a list of string pairs.
@Suite struct HTTPHeadersTests {
    @Test func addedFieldsKeepOrderRepeatsAndAnyCaseLookUp() {
        var headers: HTTPHeaders = ["Content-Type": "application/json"]
        headers.add(name: "Vary", value: "Accept")
        headers.add(name: "vary", value: "Accept-Encoding")
        headers.add(name: "Empty", value: "")
        #expect(headers.count == 4)
        #expect(headers["content-type"] == "application/json")
        #expect(headers["VARY"] == "Accept")
        #expect(headers.values(for: "Vary") == ["Accept", "Accept-Encoding"])
        #expect(headers["Empty"] == "")
        #expect(headers.contains("EMPTY"))
        #expect(!headers.contains("Vary2"))
        #expect(headers["missing"] == nil)
        #expect(headers.map(\.name) == ["Content-Type", "Vary", "vary", "Empty"])
        #expect(headers.map(\.value) == ["application/json", "Accept", "Accept-Encoding", ""])
        // The same first value as bytes, read in place.
        let vary = headers.firstValueBytes(named: "VARY").map { Array($0) }
        #expect(vary == Array("Accept".utf8))
        let empty = headers.firstValueBytes(named: "empty").map { Array($0) }
        #expect(empty == [])
        #expect(headers.firstValueBytes(named: "missing") == nil)
    }

    @Test func removeAndReplaceKeepTheOtherFieldsInOrder() {
        var headers = HTTPHeaders([("A", "1"), ("B", "2"), ("a", "3"), ("C", "4")])
        headers.remove("a")
        #expect(headers.map(\.name) == ["B", "C"])
        headers.replaceOrAdd(name: "b", value: "5")
        #expect(headers.map(\.name) == ["C", "b"])
        #expect(headers["B"] == "5")
        headers.remove("absent")
        #expect(headers.count == 2)
        headers.add(name: "D", value: "6")
        #expect(headers.values(for: "d") == ["6"])
    }

    @Test func equalityComparesNamesAndValuesInOrder() {
        let headers: HTTPHeaders = ["A": "1", "B": "2"]
        #expect(headers == HTTPHeaders([("A", "1"), ("B", "2")]))
        #expect(headers != HTTPHeaders([("B", "2"), ("A", "1")]))
        #expect(headers != HTTPHeaders([("a", "1"), ("B", "2")]))
        #expect(headers != HTTPHeaders([("A", "1")]))
        var removed: HTTPHeaders = ["A": "1", "X": "9", "B": "2"]
        removed.remove("X")
        #expect(removed == headers)
    }

    @Test func longAndNonASCIIValuesReadBackAsSent() {
        let long = String(repeating: "token-", count: 50)
        var headers = HTTPHeaders()
        headers.add(name: "Lock-Token", value: long)
        headers.add(name: "X-Name", value: "émoji 🔒")
        #expect(headers["lock-token"] == long)
        #expect(headers["x-name"] == "émoji 🔒")
    }

    /// A request is handled after the read that decoded it (in a task, or
    /// once its store answers): its fields must be its own bytes, not a view
    /// of the connection's buffer, which the next read overwrites.
    @Test func decodedFieldsOutliveTheBufferTheyWereReadFrom() {
        var buffer = Array("GET / HTTP/1.1\r\nHost: a\r\nLock-Token: 0123456789abcdef0123456789\r\nX-Obs: caf\u{E9}\r\n\r\n".utf8)
        var decoder = HTTPRequestDecoder(limits: HTTPRequestLimits())
        var consumed = 0
        let event = buffer.withUnsafeBytes { decoder.decode($0, consumed: &consumed) }
        guard case .request(let request, _) = event else {
            Issue.record("expected a request, got \(event)")
            return
        }
        for index in buffer.indices { buffer[index] = UInt8(ascii: "x") }
        #expect(request.headers["Host"] == "a")
        #expect(request.headers["lock-token"] == "0123456789abcdef0123456789")
        #expect(request.headers["X-Obs"] == "café")
    }

    /// obs-text that is not UTF-8 is accepted in a value (RFC 9110 §5.5) and
    /// read as U+FFFD, as before the fields were kept as bytes.
    @Test func valueBytesThatAreNotUTF8ReadAsReplacementCharacters() {
        let head = Array("GET / HTTP/1.1\r\nHost: a\r\nX-Latin1: caf".utf8) + [0xE9] + Array("\r\n\r\n".utf8)
        var decoder = HTTPRequestDecoder(limits: HTTPRequestLimits())
        var consumed = 0
        let event = head.withUnsafeBytes { decoder.decode($0, consumed: &consumed) }
        guard case .request(let request, _) = event else {
            Issue.record("expected a request, got \(event)")
            return
        }
        #expect(request.headers["x-latin1"] == "caf\u{FFFD}")
    }

    @Test func aResponseHeadWritesTheFieldsAndDropsTheServersOwn() {
        var headers: HTTPHeaders = ["Content-Type": "application/json", "content-length": "99", "X-Extra": "yes"]
        headers.add(name: "Date", value: "never")
        var bytes: [UInt8] = []
        HTTPResponseEncoder.encode(
            HTTPResponse(status: .ok, headers: headers, body: Array("{}".utf8)), headOnly: false, keepAlive: true,
            requestVersion: .http1_1, date: Array("Sat, 05 Dec 2026 05:00:00 GMT".utf8), requestID: nil, into: &bytes)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.contains("\r\nContent-Type: application/json\r\n"))
        #expect(text.contains("\r\nX-Extra: yes\r\n"))
        #expect(text.contains("\r\nContent-Length: 2\r\n"))
        #expect(!text.contains("99"))
        #expect(!text.contains("never"))
    }
}
