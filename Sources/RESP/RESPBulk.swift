/// One argument of a command, sent as a RESP bulk string.
///
/// Commands always travel as arrays of bulk strings, never inline, so no key
/// or value can smuggle a second command in.
///
/// ```swift
/// let arguments: [RESPBulk] = ["SET", .string(key), .bytes(payload), "PX", 100]
/// ```
public enum RESPBulk: Sendable, Hashable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    /// Text, sent as its UTF-8 bytes.
    case string(String)
    /// Raw bytes.
    case bytes([UInt8])
    /// An integer, sent as its decimal text.
    case integer(Int64)
    /// Several arguments written beforehand, sent as they are: they count
    /// as `count` arguments of the command, not one.
    case encoded(RESPEncodedArguments)

    /// A text argument.
    public init(stringLiteral value: String) { self = .string(value) }

    /// An integer argument.
    public init(integerLiteral value: Int64) { self = .integer(value) }

    /// A text argument.
    public init(_ value: String) { self = .string(value) }

    /// An integer argument.
    public init(_ value: Int) { self = .integer(Int64(value)) }
}
