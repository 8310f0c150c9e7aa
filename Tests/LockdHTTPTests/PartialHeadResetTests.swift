import LockdTestSupport
import Testing

@testable import LockdHTTP

/// After a request the decoder resets its head in place rather than making
/// a fresh one: nothing a request said (its framing, `Expect`, `Connection`,
/// `Host` count, version, query, fields, body) may carry over to the next.
/// Each request of a random pipeline must decode exactly as it does alone,
/// in a fresh decoder.
@Suite struct PartialHeadResetTests {
    static let requests = [
        "GET /a HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /q?x=1&y HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n\r\n",
        "POST /locks/a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
        "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        "POST /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok",
        "GET /close HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "GET /ten HTTP/1.0\r\n\r\n",
        "GET /ten-kept HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET http://example.com/abs?q HTTP/1.1\r\nHost: example.com\r\n\r\n",
        "HEAD / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
        "DELETE /locks/" + String(repeating: "n", count: 100) + " HTTP/1.1\r\nHost: x\r\nLock-Token: t\r\n\r\n",
    ]

    @Test func eachPipelinedRequestDecodesAsItDoesAlone() {
        let alone = Self.requests.map { DecodingHarness.decode($0) }
        for events in alone { #expect(events.count == 1) }
        var random = SplitMix64(seed: 0x2E5E7)
        for round in 0..<300 {
            let picks = (0..<(1 + Int(random.next() % 8))).map { _ in Int(random.next() % UInt64(Self.requests.count)) }
            let bytes = Array(picks.map { Self.requests[$0] }.joined().utf8)
            let splits = (0..<Int(random.next() % 4)).map { _ in Int(random.next() % UInt64(bytes.count + 1)) }.sorted()
            let events = DecodingHarness.decode(bytes, splits: splits)
            #expect(events == picks.flatMap { alone[$0] }, "round \(round): \(picks)")
        }
    }
}
