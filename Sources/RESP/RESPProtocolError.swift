/// Bytes that are not valid RESP, or exceed the decoder's limits.
///
/// A connection that meets one is out of step with the server and must be closed.
public struct RESPProtocolError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What was wrong, for logs.
    public let reason: String
    /// The offset in the buffer where decoding stopped.
    public let offset: Int

    /// Creates an error.
    public init(_ reason: String, offset: Int) {
        self.reason = reason
        self.offset = offset
    }

    public var description: String { "RESP protocol error at byte \(offset): \(reason)" }
}

/// Bounds that keep a hostile or corrupt stream from exhausting memory or stack.
public struct RESPLimits: Sendable, Hashable {
    /// Deepest nesting of arrays, maps, sets, pushes and attributes.
    public var maxDepth: Int
    /// Longest bulk string, blob error or verbatim string in bytes.
    public var maxBulkLength: Int
    /// Most elements in one array, set or push (pairs in one map or attribute).
    public var maxAggregateCount: Int
    /// Longest simple line (`+`, `-`, `:`, `,`, `(` and length headers) in bytes.
    public var maxLineLength: Int

    /// Limits far above anything lockd sends or reads, far below harm:
    /// depth 32, 64 MiB bulk strings, 1 Mi elements, 64 KiB lines.
    public init(maxDepth: Int = 32, maxBulkLength: Int = 64 << 20, maxAggregateCount: Int = 1 << 20, maxLineLength: Int = 64 << 10) {
        self.maxDepth = maxDepth
        self.maxBulkLength = maxBulkLength
        self.maxAggregateCount = maxAggregateCount
        self.maxLineLength = maxLineLength
    }
}
