/// A parsed JSON document that remembers where each of its values starts,
/// so that a value found wrong after parsing can be reported by line.
///
/// ```swift
/// let document = try JSONParser.parseLocating(bytes)
/// // … "clients[1].grants[0].actions" turns out to be unusable:
/// print("line \(document.line(of: "clients[1].grants[0].actions") ?? 1): unknown action")
/// ```
public struct JSONDocument: Sendable {
    /// The document's top-level value.
    public let value: JSONValue
    private let bytes: [UInt8]
    private let offsets: [String: Int]

    init(value: JSONValue, bytes: [UInt8], offsets: [String: Int]) {
        self.value = value
        self.bytes = bytes
        self.offsets = offsets
    }

    /// The 1-based line on which the value at `path` starts; nil for a path
    /// the document does not have. Paths join member names with `.` and
    /// write array elements as `[index]`: `clients[1].grants[0].names`.
    public func line(of path: String) -> Int? {
        offsets[path].map { JSONText.position(of: $0, in: bytes).line }
    }
}

extension JSONSyntaxError {
    /// The 1-based line and column (in bytes) of ``offset`` in `bytes`, the text that was parsed.
    public func position(in bytes: [UInt8]) -> (line: Int, column: Int) {
        JSONText.position(of: offset, in: bytes)
    }
}

enum JSONText {
    static func position(of offset: Int, in bytes: [UInt8]) -> (line: Int, column: Int) {
        var line = 1
        var lineStart = 0
        for index in 0..<min(offset, bytes.count) where bytes[index] == UInt8(ascii: "\n") {
            line += 1
            lineStart = index + 1
        }
        return (line, offset - lineStart + 1)
    }
}
