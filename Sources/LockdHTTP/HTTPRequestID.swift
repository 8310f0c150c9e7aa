/// A request's id: the client's `X-Request-Id` when it sent a usable one,
/// else one the server makes (a per-server random prefix and a counter).
///
/// The server echoes it in every response's `X-Request-Id` and puts it in
/// every log line about the request, so a client, a proxy and lockd's logs
/// can be joined on it. A made id is formatted only when read: answering a
/// request writes its bytes straight into the response.
///
/// ```swift
/// context.requestID.description   // "9f3c01aa-2f" or the client's own id
/// ```
public struct HTTPRequestID: Sendable, Hashable, CustomStringConvertible {
    private enum Storage: Hashable {
        /// A made id whose prefix fits in two words (the server's has nine
        /// bytes): copying or dropping the id then touches no reference
        /// count (a `String` prefix cost ~45 instructions a copy, a dozen
        /// copies a request).
        case made(prefix: ShortPrefix, number: UInt64)
        case madeLong(prefix: String, number: UInt64)
        case received(String)
    }

    /// Up to 16 bytes in two words, the first byte lowest in `low`.
    private struct ShortPrefix: Hashable {
        var low: UInt64 = 0
        var high: UInt64 = 0
        var count: Int = 0

        init?(_ text: String) {
            guard text.utf8.count <= 16 else { return nil }
            for (index, byte) in text.utf8.enumerated() {
                if index < 8 { low |= UInt64(byte) << UInt64(8 * index) } else { high |= UInt64(byte) << UInt64(8 * (index - 8)) }
            }
            count = text.utf8.count
        }

        var text: String {
            var bytes: [UInt8] = []
            for index in 0..<count { bytes.append(UInt8(truncatingIfNeeded: (index < 8 ? low : high) >> UInt64(8 * (index % 8)))) }
            return String(decoding: bytes, as: UTF8.self)
        }

        func write(to sink: inout some HeadSink) {
            sink.write(packed: low, count: min(count, 8))
            if count > 8 { sink.write(packed: high, count: count - 8) }
        }
    }

    private let storage: Storage

    /// The longest `X-Request-Id` kept; a longer one is replaced by a made id.
    public static let maxReceivedLength = 128

    /// An id made by the server: `prefix` (unique per server) then `number` in hex.
    public init(prefix: String, number: UInt64) {
        storage = ShortPrefix(prefix).map { .made(prefix: $0, number: number) } ?? .madeLong(prefix: prefix, number: number)
    }

    /// This made id's prefix with another number (the server's ids: the
    /// prefix is packed once, not for every request); a received id is
    /// returned as it is.
    func numbered(_ number: UInt64) -> HTTPRequestID {
        switch storage {
        case .made(let prefix, _): HTTPRequestID(storage: .made(prefix: prefix, number: number))
        case .madeLong(let prefix, _): HTTPRequestID(storage: .madeLong(prefix: prefix, number: number))
        case .received: self
        }
    }

    private init(storage: Storage) {
        self.storage = storage
    }

    /// The client's id, when it is 1–128 visible ASCII characters other
    /// than `"` and `\` (so that it cannot break a header or a log line);
    /// nil otherwise.
    public init?(received text: String) {
        let bytes = text.utf8
        guard (1...Self.maxReceivedLength).contains(bytes.count),
              bytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") })
        else { return nil }
        storage = .received(text)
    }

    public var description: String {
        switch storage {
        case .made(let prefix, let number): prefix.text + String(number, radix: 16)
        case .madeLong(let prefix, let number): prefix + String(number, radix: 16)
        case .received(let text): text
        }
    }

    /// The most bytes ``write(to:)`` writes (a made id's number has at most 16 hex digits).
    var maxWrittenCount: Int {
        switch storage {
        case .received(let text): text.utf8.count
        case .made(let prefix, _): prefix.count &+ 16
        case .madeLong(let prefix, _): prefix.utf8.count &+ 16
        }
    }

    /// Writes the id's bytes into a response head without building a `String`.
    /// Inline: with the made id's hex digits written without a loop, swiftc
    /// left it out of line (a call and the id's parts moved for it, ~30
    /// instructions a response).
    @inline(__always)
    func write(to sink: inout some HeadSink) {
        switch storage {
        case .received(let text):
            sink.write(text)
        case .made(let prefix, let number):
            prefix.write(to: &sink)
            sink.hex(number)
        case .madeLong(let prefix, let number):
            sink.write(prefix)
            sink.hex(number)
        }
    }
}
