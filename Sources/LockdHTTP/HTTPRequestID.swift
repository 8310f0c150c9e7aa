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
        case made(prefix: String, number: UInt64)
        case received(String)
    }

    private let storage: Storage

    /// The longest `X-Request-Id` kept; a longer one is replaced by a made id.
    public static let maxReceivedLength = 128

    /// An id made by the server: `prefix` (unique per server) then `number` in hex.
    public init(prefix: String, number: UInt64) {
        storage = .made(prefix: prefix, number: number)
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
        case .made(let prefix, let number): prefix + String(number, radix: 16)
        case .received(let text): text
        }
    }

    /// Writes the id's bytes into a response head without building a `String`.
    func write(to sink: inout some HeadSink) {
        switch storage {
        case .received(let text):
            sink.write(text)
        case .made(let prefix, let number):
            sink.write(prefix)
            sink.decimal(number, radix: 16)
        }
    }
}
