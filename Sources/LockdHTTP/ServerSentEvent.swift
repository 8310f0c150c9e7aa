/// One Server-Sent Event as `text/event-stream` carries it (WHATWG HTML,
/// "Server-sent events"): an optional `id:` and `event:` line, one `data:`
/// line per line of data, then a blank line that dispatches it.
///
/// ```swift
/// let bytes = ServerSentEvent(id: "42", event: "acquired", data: #"{"name":"orders:4711"}"#).encoded
/// ```
public struct ServerSentEvent: Sendable, Equatable {
    /// The reader's last-event id after this event; nil sends no `id:` line.
    public var id: String?
    /// The event's type (`event:`); nil for the default, `message`.
    public var event: String?
    /// The payload; each line of it (split at CR LF, CR or LF) becomes a
    /// `data:` line, and the reader joins them again with LF.
    public var data: String

    /// Creates an event.
    public init(id: String? = nil, event: String? = nil, data: String) {
        self.id = id
        self.event = event
        self.data = data
    }

    /// The event's lines, ready for the stream.
    public var encoded: [UInt8] {
        var text = ""
        // A line break would end the field early and start another: the
        // field values are kept to one line (and an id without NUL, which
        // readers otherwise ignore).
        if let id { text += "id: " + Self.oneLine(id) + "\n" }
        if let event { text += "event: " + Self.oneLine(event) + "\n" }
        for line in data.split(omittingEmptySubsequences: false, whereSeparator: Self.isLineBreak) {
            text += "data: " + line + "\n"
        }
        text += "\n"
        return Array(text.utf8)
    }

    /// A comment line (`: text`): readers ignore it; it keeps proxies from
    /// closing an idle stream, or says why the server ends one.
    public static func comment(_ text: String) -> [UInt8] {
        Array((": " + oneLine(text) + "\n").utf8)
    }

    /// CR LF is one `Character` in Swift, so it is matched on its own.
    private static func isLineBreak(_ character: Character) -> Bool {
        character == "\n" || character == "\r" || character == "\r\n"
    }

    private static func oneLine(_ text: String) -> String {
        String(text.map { isLineBreak($0) ? " " : $0 }.filter { $0 != "\0" })
    }
}
