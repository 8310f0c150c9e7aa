import Testing

@testable import LockbenchCore

/// lockbench's reading of `GET /events`: the head, events split across
/// reads, comments, and the `at` timestamps latency is measured from.
@Suite struct EventStreamParserTests {
    @Test func readsTheStatusThenEachEventsAtAcrossArbitrarySplits() throws {
        let stream = "HTTP/1.0 200 OK\r\nContent-Type: text/event-stream\r\n\r\n"
            + ": keep-alive\n\n"
            + "id: 00ff-1\nevent: acquired\ndata: {\"name\":\"a\",\"fence\":1,\"mode\":\"exclusive\",\"at\":\"2026-12-04T15:00:00.123Z\"}\n\n"
            + "id: 00ff-2\nevent: released\ndata: {\"name\":\"a\",\"fence\":1,\"at\":\"2026-12-04T15:00:01.000Z\",\"mode\":\"exclusive\"}\n\n"
            + "id: 00ff-3\nevent: released\ndata: {\"name\":\"b\"}\n\n"
        let bytes = Array(stream.utf8)
        let base = try #require(EventStreamParser.milliseconds(rfc3339: "2026-12-04T15:00:00.000Z"))
        for split in [1, 7, 64, bytes.count] {
            var parser = EventStreamParser()
            var times: [Int64] = []
            for start in stride(from: 0, to: bytes.count, by: split) {
                times += parser.consume(bytes[start..<min(bytes.count, start + split)])
            }
            #expect(parser.status == 200)
            #expect(times == [base + 123, base + 1_000], "split \(split)")
            #expect(parser.unreadable == 1)
        }
    }

    @Test func aRefusedStreamHasItsStatus() {
        var parser = EventStreamParser()
        _ = parser.consume(Array("HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\n{}".utf8))
        #expect(parser.status == 403)
    }

    @Test func rfc3339MillisecondsMatchTheCalendar() {
        #expect(EventStreamParser.milliseconds(rfc3339: "1970-01-01T00:00:00Z") == 0)
        #expect(EventStreamParser.milliseconds(rfc3339: "1970-01-02T00:00:01.5Z") == 86_401_500)
        // 2000-03-01 (after a leap day in a century leap year): 11 017 days.
        #expect(EventStreamParser.milliseconds(rfc3339: "2000-03-01T00:00:00.000Z") == Int64(11_017) * 86_400_000)
        #expect(EventStreamParser.milliseconds(rfc3339: "2026-12-04T15:00:00.123456Z") == 1_796_396_400_123)
        #expect(EventStreamParser.milliseconds(rfc3339: "not a time") == nil)
        #expect(EventStreamParser.milliseconds(rfc3339: "2026-13-04T15:00:00Z") == nil)
    }
}
