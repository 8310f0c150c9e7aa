import Foundation

/// A reader of lockd's `GET /events` for tests: asks with HTTP/1.0, so the
/// body is the bare `text/event-stream` (no chunk framing), and parses one
/// event at a time.
///
/// ```swift
/// let events = try await EventStreamReader.open(port: lockd.url.port, prefix: "orders:")
/// let acquired = try await events.next { $0.event == "acquired" }
/// ```
public final class EventStreamReader: @unchecked Sendable {
    // Safe to share as RawHTTPClient is: one test task awaits each read in turn.
    /// The connection (a test may stop reading from it, or close it).
    public let client: RawHTTPClient
    /// The response's status line and header fields.
    public let head: String

    /// One event as received.
    public struct Event: Sendable {
        /// The `id:` field.
        public var id: String?
        /// The `event:` field.
        public var event: String?
        /// The `data:` lines, joined.
        public var data: String
        /// `data` parsed as a JSON object (empty when it is not one).
        public var json: [String: Any] {
            ((try? JSONSerialization.jsonObject(with: Data(data.utf8))) as? [String: Any]) ?? [:]
        }
        /// The `name` member of the data.
        public var name: String? { json["name"] as? String }
        /// The `fence` member of the data.
        public var fence: Int? { json["fence"] as? Int }
    }

    private init(client: RawHTTPClient, head: String) {
        self.client = client
        self.head = head
    }

    /// Opens `/events?prefix=` on `port` and reads the response head.
    public static func open(port: Int?, prefix: String, headers: [String: String] = [:]) async throws -> EventStreamReader {
        let client = try RawHTTPClient(port: UInt16(port ?? 0))
        let fields = headers.map { "\($0.key): \($0.value)\r\n" }.joined()
        try client.send("GET /events?prefix=\(prefix) HTTP/1.0\r\nHost: x\r\n\(fields)\r\n")
        let head = String(decoding: try await client.read(until: "\r\n\r\n"), as: UTF8.self)
        return EventStreamReader(client: client, head: head)
    }

    /// The status code of the response.
    public var status: Int { Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0 }

    /// The next event (comment lines skipped).
    public func next(timeout: Duration = .seconds(10)) async throws -> Event {
        while true {
            let block = String(decoding: try await client.read(until: "\n\n", timeout: timeout), as: UTF8.self)
            var event = Event(id: nil, event: nil, data: "")
            var dataLines: [String] = []
            for line in block.split(separator: "\n") {
                if line.hasPrefix("id: ") { event.id = String(line.dropFirst(4)) }
                if line.hasPrefix("event: ") { event.event = String(line.dropFirst(7)) }
                if line.hasPrefix("data: ") { dataLines.append(String(line.dropFirst(6))) }
            }
            event.data = dataLines.joined(separator: "\n")
            if event.event != nil || !dataLines.isEmpty { return event }
        }
    }

    /// The next event that `matches`, skipping others.
    public func next(timeout: Duration = .seconds(10), where matches: (Event) -> Bool) async throws -> Event {
        let deadline = ContinuousClock.now + timeout
        while true {
            let left = deadline - ContinuousClock.now
            guard left > .zero else { throw TestFailure("no matching event within \(timeout)") }
            let event = try await next(timeout: left)
            if matches(event) { return event }
        }
    }
}
