/// One complete RESP2 or RESP3 frame as Redis sent it.
///
/// Both protocol versions map onto one type: RESP2's `$-1` and `*-1` and
/// RESP3's `_` all decode to ``null``; simple and blob errors both decode to
/// ``error(_:)``. Bulk strings stay bytes because Redis values are binary.
///
/// ```swift
/// let reply: RESPValue = .array([.bulkString(Array("a".utf8)), .integer(2)])
/// reply.array?.first?.string   // "a"
/// ```
public enum RESPValue: Sendable, Hashable {
    /// `+OK`: a short status line.
    case simpleString(String)
    /// `-ERR …` or RESP3's blob error `!`: the server refused the command.
    case error(String)
    /// `:42`.
    case integer(Int64)
    /// `$3\r\nabc`: binary-safe bytes.
    case bulkString([UInt8])
    /// `$-1`, `*-1` (RESP2) or `_` (RESP3).
    case null
    /// `*n`: an ordered list.
    case array([RESPValue])
    /// `%n` (RESP3): key-value pairs in the server's order.
    case map([RESPPair])
    /// `~n` (RESP3): an unordered collection.
    case set([RESPValue])
    /// `,3.14` (RESP3), also `inf`, `-inf` and `nan`.
    case double(Double)
    /// `#t` / `#f` (RESP3).
    case boolean(Bool)
    /// `(123…` (RESP3): an integer too large for 64 bits, as its decimal text.
    case bigNumber(String)
    /// `=n\r\ntxt:…` (RESP3): text with a three-letter format such as `txt` or `mkd`.
    case verbatimString(format: String, text: [UInt8])
    /// `>n` (RESP3): out-of-band data (pub/sub messages, invalidations),
    /// never the reply to a command.
    case push([RESPValue])
    /// `|n` (RESP3): attributes the server attached to the value that follows.
    indirect case attributed([RESPPair], RESPValue)
}

/// One key-value entry of a RESP3 map or attribute.
public struct RESPPair: Sendable, Hashable {
    /// The key.
    public var key: RESPValue
    /// The value.
    public var value: RESPValue

    /// Creates a pair.
    public init(key: RESPValue, value: RESPValue) {
        self.key = key
        self.value = value
    }
}

extension RESPValue {
    /// The value without any attributes the server attached to it.
    public var withoutAttributes: RESPValue {
        if case .attributed(_, let value) = self { return value.withoutAttributes }
        return self
    }

    /// Text of a simple, bulk or verbatim string or a big number (bytes read as UTF-8).
    public var string: String? {
        // The common case read in place: `withoutAttributes` copies the value.
        if case .bulkString(let bytes) = self { return String(decoding: bytes, as: UTF8.self) }
        switch withoutAttributes {
        case .simpleString(let text), .bigNumber(let text): return text
        case .bulkString(let bytes), .verbatimString(_, let bytes): return String(decoding: bytes, as: UTF8.self)
        default: return nil
        }
    }

    /// Raw bytes of a bulk, simple or verbatim string.
    public var bytes: [UInt8]? {
        // The common case read in place: `withoutAttributes` copies the value.
        if case .bulkString(let bytes) = self { return bytes }
        switch withoutAttributes {
        case .bulkString(let bytes), .verbatimString(_, let bytes): return bytes
        case .simpleString(let text): return Array(text.utf8)
        default: return nil
        }
    }

    /// An integer reply, or a string reply holding a decimal integer
    /// (Redis answers `GET` of a counter with a bulk string).
    public var int: Int? {
        // The common case read in place: `withoutAttributes` copies the value.
        if case .integer(let value) = self { return Int(exactly: value) }
        switch withoutAttributes {
        case .integer(let value): return Int(exactly: value)
        case .simpleString, .bulkString: return string.flatMap { Int($0) }
        default: return nil
        }
    }

    /// A double reply, or an integer or string that reads as one.
    public var double: Double? {
        switch withoutAttributes {
        case .double(let value): value
        case .integer(let value): Double(value)
        case .simpleString, .bulkString: string.flatMap { Double($0) }
        default: nil
        }
    }

    /// A RESP3 boolean, or RESP2's `:1` / `:0` convention.
    public var bool: Bool? {
        switch withoutAttributes {
        case .boolean(let value): value
        case .integer(let value) where value == 0 || value == 1: value == 1
        default: nil
        }
    }

    /// The elements of an array, set or push frame; a map as alternating keys and values.
    public var array: [RESPValue]? {
        // The common case read in place: `withoutAttributes` copies the value.
        if case .array(let values) = self { return values }
        switch withoutAttributes {
        case .array(let values), .set(let values), .push(let values): return values
        case .map(let pairs): return pairs.flatMap { [$0.key, $0.value] }
        default: return nil
        }
    }

    /// The pairs of a RESP3 map, or a RESP2 array read as alternating keys and values.
    public var pairs: [RESPPair]? {
        switch withoutAttributes {
        case .map(let pairs): return pairs
        case .array(let values) where values.count % 2 == 0:
            return stride(from: 0, to: values.count, by: 2).map { RESPPair(key: values[$0], value: values[$0 + 1]) }
        default: return nil
        }
    }

    /// Whether this is a null reply.
    public var isNull: Bool {
        withoutAttributes == .null
    }

    /// The message of an error reply, such as `"NOSCRIPT No matching script."`.
    public var errorMessage: String? {
        if case .error(let message) = withoutAttributes { return message }
        return nil
    }
}
