/// Reads one `GET /events` response as it arrives, for lockbench's event
/// streams: the HTTP/1.0 head (its status), then Server-Sent Events, each
/// reduced to when it happened — the `at` of its JSON data, in
/// milliseconds since 1970 — which is all a delivery-latency figure needs.
///
/// ```swift
/// var parser = EventStreamParser()
/// for at in parser.consume(bytes) { latencies.record(nowMs - at) }
/// if parser.status != nil && parser.status != 200 { … }
/// ```
public struct EventStreamParser: Sendable {
    /// The response's status, once its head has arrived.
    public private(set) var status: Int?
    /// Events read whose data had no readable `at`.
    public private(set) var unreadable = 0
    private var buffer: [UInt8] = []

    /// The most bytes kept while waiting for the end of a head or an event.
    static let maxPending = 1 << 20

    /// Creates a parser expecting the response head first.
    public init() {}

    /// Takes `bytes` off the connection; returns the `at` (ms since 1970)
    /// of every event they complete, in order. Comment lines (`: …`) are skipped.
    public mutating func consume(_ bytes: some Sequence<UInt8>) -> [Int64] {
        buffer += bytes
        if status == nil {
            guard let end = Self.find([13, 10, 13, 10], in: buffer, from: 0, to: buffer.count) else { return [] }
            let line = buffer[..<end].prefix { $0 != 13 }
            let parts = line.split(separator: UInt8(ascii: " "))
            status = parts.count >= 2 ? Int(String(decoding: parts[1], as: UTF8.self)) ?? 0 : 0
            buffer.removeFirst(end + 4)
        }
        var times: [Int64] = []
        var start = 0
        while let end = Self.find([10, 10], in: buffer, from: start, to: buffer.count) {
            // The block's lines start at `start` or after a line feed.
            let blockStart = start
            start = end + 2
            let marker = Array("data: ".utf8)
            var lineStart = blockStart
            var data: ArraySlice<UInt8>?
            while lineStart < end {
                let lineEnd = Self.find([10], in: buffer, from: lineStart, to: end) ?? end
                if buffer[lineStart..<lineEnd].starts(with: marker) { data = buffer[(lineStart + marker.count)..<lineEnd] }
                lineStart = lineEnd + 1
            }
            guard let data else { continue }
            if let at = JSONStringField.value(of: "at", in: Array(data)).flatMap(Self.milliseconds(rfc3339:)) {
                times.append(at)
            } else {
                unreadable += 1
            }
        }
        buffer.removeFirst(start)
        if buffer.count > Self.maxPending { buffer.removeAll() }
        return times
    }

    /// `2026-12-01T10:15:00.123Z` as milliseconds since 1970 (UTC; the
    /// fraction may have 0–9 digits); nil when it is not that shape.
    public static func milliseconds(rfc3339 text: String) -> Int64? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 20, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"), bytes[10] == UInt8(ascii: "T"),
              bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"), bytes.last == UInt8(ascii: "Z") else { return nil }
        func number(_ range: Range<Int>) -> Int64? {
            var value: Int64 = 0
            for byte in bytes[range] {
                guard (48...57).contains(byte) else { return nil }
                value = value * 10 + Int64(byte - 48)
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10), let hour = number(11..<13),
              let minute = number(14..<16), let second = number(17..<19), (1...12).contains(month) else { return nil }
        var millis: Int64 = 0
        if bytes[19] == UInt8(ascii: ".") {
            let digits = bytes[20..<(bytes.count - 1)].prefix(3)
            guard !digits.isEmpty, let fraction = number(20..<(20 + digits.count)) else { return nil }
            millis = fraction * [100, 10, 1][digits.count - 1]
        } else if bytes.count != 20 {
            return nil
        }
        // Days from civil (Howard Hinnant's algorithm).
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        return ((days * 24 + hour) * 60 + minute) * 60_000 + second * 1_000 + millis
    }

    /// Where `needle` first starts in `bytes[from..<to]`.
    private static func find(_ needle: [UInt8], in bytes: [UInt8], from: Int, to: Int) -> Int? {
        guard to - from >= needle.count else { return nil }
        for index in from...(to - needle.count) where bytes[index] == needle[0] {
            if bytes[index..<(index + needle.count)].elementsEqual(needle) { return index }
        }
        return nil
    }
}
