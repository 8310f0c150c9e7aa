/// Decodes RESP2 and RESP3 frames from a byte buffer, without I/O.
///
/// `decode` returns the first complete frame and the number of bytes it
/// took, `nil` when the buffer ends inside a frame (read more and call again
/// with the same start), or throws when the bytes cannot be RESP. Every
/// length is checked against ``RESPLimits`` before anything is allocated, so
/// `$2147483648` or a thousand nested `*1` fail at once instead of waiting
/// for gigabytes or exhausting the stack.
///
/// ```swift
/// let decoder = RESPDecoder()
/// if let (value, consumed) = try decoder.decode(Array("+OK\r\n".utf8)) {
///     // value == .simpleString("OK"), consumed == 5
/// }
/// ```
public struct RESPDecoder: Sendable {
    /// The bounds this decoder enforces.
    public var limits: RESPLimits

    /// Creates a decoder enforcing `limits`.
    public init(limits: RESPLimits = RESPLimits()) {
        self.limits = limits
    }

    /// Decodes the frame at the start of `bytes`.
    /// - Returns: the frame and its length in bytes, or nil when more bytes are needed.
    /// - Throws: ``RESPProtocolError`` when the bytes are not RESP or exceed the limits.
    public func decode(_ bytes: UnsafeRawBufferPointer) throws(RESPProtocolError) -> (value: RESPValue, consumed: Int)? {
        var reader = RESPReader(bytes: bytes, limits: limits)
        guard let value = try reader.value(depth: 0) else { return nil }
        return (value, reader.index)
    }

    /// The length of the frame at the start of `bytes` when it is plain —
    /// integers, simple and bulk strings, nulls, and arrays of them (a
    /// script's usual reply) — complete and within the limits, checked as
    /// ``decode(_:)-(UnsafeRawBufferPointer)`` checks it but not decoded
    /// (read it with ``RESPReply``). Nil for anything else (an error reply,
    /// another type, a frame not all here, a malformed one), which
    /// `decode` then reads, waits for or rejects.
    public func plainFrameLength(_ bytes: UnsafeRawBufferPointer) -> Int? {
        var reader = RESPReader(bytes: bytes, limits: limits)
        return reader.skipPlain(depth: 0) ? reader.index : nil
    }

    /// Decodes the frame at the start of `bytes`; see ``decode(_:)-(UnsafeRawBufferPointer)``.
    public func decode(_ bytes: [UInt8]) throws(RESPProtocolError) -> (value: RESPValue, consumed: Int)? {
        let result = bytes.withUnsafeBytes { buffer in
            Result { () throws(RESPProtocolError) in try decode(buffer) }
        }
        return try result.get()
    }
}

/// A cursor over one buffer; each method returns nil when the buffer ends
/// before the element does, leaving the caller to retry from the frame's start.
struct RESPReader {
    let bytes: UnsafeRawBufferPointer
    let limits: RESPLimits
    var index = 0

    private static let cr = UInt8(ascii: "\r")
    private static let lf = UInt8(ascii: "\n")

    mutating func value(depth: Int) throws(RESPProtocolError) -> RESPValue? {
        guard index < bytes.count else { return nil }
        let type = bytes[index]
        index += 1
        switch type {
        case UInt8(ascii: "+"):
            return try line().map { .simpleString(text($0)) }
        case UInt8(ascii: "-"):
            return try line().map { .error(text($0)) }
        case UInt8(ascii: ":"):
            if let (value, next) = shortDecimal() {
                index = next
                return .integer(value)
            }
            guard let range = try line() else { return nil }
            return .integer(try integer(range))
        case UInt8(ascii: "$"):
            guard let length = try length(allowNull: true, limit: limits.maxBulkLength) else { return nil }
            if length < 0 { return .null }
            // Through a buffer: from a `Slice` the copy takes a generic path.
            return try blob(length).map { .bulkString(Array(UnsafeRawBufferPointer(rebasing: bytes[$0]))) }
        case UInt8(ascii: "!"):
            guard let length = try length(allowNull: false, limit: limits.maxBulkLength) else { return nil }
            return try blob(length).map { .error(text($0)) }
        case UInt8(ascii: "="):
            return try verbatim()
        case UInt8(ascii: "_"):
            guard let range = try line() else { return nil }
            guard range.isEmpty else { throw error("null with content") }
            return .null
        case UInt8(ascii: "#"):
            guard let range = try line() else { return nil }
            guard range.count == 1 else { throw error("malformed boolean") }
            switch bytes[range.lowerBound] {
            case UInt8(ascii: "t"): return .boolean(true)
            case UInt8(ascii: "f"): return .boolean(false)
            default: throw error("malformed boolean")
            }
        case UInt8(ascii: ","):
            guard let range = try line() else { return nil }
            return .double(try double(range))
        case UInt8(ascii: "("):
            guard let range = try line() else { return nil }
            let digits = range.first.map { bytes[$0] == UInt8(ascii: "-") ? range.dropFirst() : range } ?? range
            guard !digits.isEmpty, digits.allSatisfy({ isDigit(bytes[$0]) }) else { throw error("malformed big number") }
            return .bigNumber(text(range))
        case UInt8(ascii: "*"):
            guard let count = try length(allowNull: true, limit: limits.maxAggregateCount) else { return nil }
            if count < 0 { return .null }
            return try elements(count, depth: depth).map { .array($0) }
        case UInt8(ascii: "~"):
            guard let count = try length(allowNull: false, limit: limits.maxAggregateCount) else { return nil }
            return try elements(count, depth: depth).map { .set($0) }
        case UInt8(ascii: ">"):
            guard let count = try length(allowNull: false, limit: limits.maxAggregateCount) else { return nil }
            return try elements(count, depth: depth).map { .push($0) }
        case UInt8(ascii: "%"):
            return try pairs(depth: depth).map { .map($0) }
        case UInt8(ascii: "|"):
            guard let attributes = try pairs(depth: depth) else { return nil }
            guard let value = try value(depth: depth) else { return nil }
            return .attributed(attributes, value)
        default:
            index -= 1
            throw error("unknown type byte \(type)")
        }
    }

    /// Moves past a plain frame (see ``RESPDecoder/plainFrameLength(_:)``);
    /// false for anything else. Accepts only what ``value(depth:)`` accepts.
    mutating func skipPlain(depth: Int) -> Bool {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return false }
        var scanner = PlainFrameScanner(base: base, end: bytes.count, limits: limits, index: index)
        guard scanner.skip(depth: depth) else { return false }
        index = scanner.index
        return true
    }

    // MARK: Aggregates

    private mutating func elements(_ count: Int, depth: Int) throws(RESPProtocolError) -> [RESPValue]? {
        guard depth < limits.maxDepth else { throw error("nesting deeper than \(limits.maxDepth)") }
        var values: [RESPValue] = []
        // Each element takes at least 3 bytes: never reserve more than the buffer could hold.
        values.reserveCapacity(min(count, (bytes.count - index) / 3))
        for _ in 0..<count {
            guard let value = try value(depth: depth + 1) else { return nil }
            values.append(value)
        }
        return values
    }

    private mutating func pairs(depth: Int) throws(RESPProtocolError) -> [RESPPair]? {
        guard let count = try length(allowNull: false, limit: limits.maxAggregateCount) else { return nil }
        guard depth < limits.maxDepth else { throw error("nesting deeper than \(limits.maxDepth)") }
        var pairs: [RESPPair] = []
        pairs.reserveCapacity(min(count, (bytes.count - index) / 6))
        for _ in 0..<count {
            guard let key = try value(depth: depth + 1), let value = try value(depth: depth + 1) else { return nil }
            pairs.append(RESPPair(key: key, value: value))
        }
        return pairs
    }

    // MARK: Lines and lengths

    /// The content of a CRLF-terminated line; the cursor moves past the CRLF.
    private mutating func line() throws(RESPProtocolError) -> Range<Int>? {
        let start = index
        var cursor = start
        while cursor < bytes.count {
            switch bytes[cursor] {
            case Self.cr:
                guard cursor + 1 < bytes.count else { return nil }
                guard bytes[cursor + 1] == Self.lf else {
                    index = cursor
                    throw error("CR not followed by LF")
                }
                index = cursor + 2
                return start..<cursor
            case Self.lf:
                index = cursor
                throw error("LF without CR")
            default:
                cursor += 1
                if cursor - start > limits.maxLineLength {
                    throw error("line longer than \(limits.maxLineLength) bytes")
                }
            }
        }
        return nil
    }

    /// A length header: a decimal count within `limit`, or -1 for null when allowed.
    private mutating func length(allowNull: Bool, limit: Int) throws(RESPProtocolError) -> Int? {
        // Digits only (a null's `-1` takes the general path).
        if index < bytes.count, bytes[index] &- UInt8(ascii: "0") < 10, let (value, next) = shortDecimal(), value <= limit {
            index = next
            return Int(value)
        }
        guard let range = try line() else { return nil }
        if allowNull, range.count == 2, bytes[range.lowerBound] == UInt8(ascii: "-"), bytes[range.lowerBound + 1] == UInt8(ascii: "1") {
            return -1
        }
        guard !range.isEmpty, range.count <= 18 else { throw error("malformed or oversized length") }
        var value = 0
        for position in range {
            let byte = bytes[position]
            guard isDigit(byte) else { throw error("malformed length") }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        guard value <= limit else { throw error("length \(value) exceeds the limit of \(limit)") }
        return value
    }

    /// The common line — an optional sign, 1 to 18 digits, CRLF, all in
    /// the buffer — read in one pass: its value and the index after its
    /// CRLF. Nil for anything else (more digits, no CRLF yet, a stray
    /// byte), which the general path (`line`, then `integer` or `length`)
    /// reads again and accepts, waits for or rejects. Integers and lengths
    /// fill a script's reply; this spares each a second pass and its checks.
    private func shortDecimal() -> (Int64, Int)? {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), index < bytes.count else { return nil }
        var cursor = index
        let sign = base[cursor]
        let negative = sign == UInt8(ascii: "-")
        if negative || sign == UInt8(ascii: "+") { cursor += 1 }
        let first = cursor
        // At most 18 digits, which cannot overflow: the loop checks no
        // bounds or overflow per digit (most of its cost, checked).
        let end = min(bytes.count, first + 18)
        var magnitude: Int64 = 0
        while cursor < end {
            let digit = base[cursor] &- UInt8(ascii: "0")
            guard digit < 10 else { break }
            magnitude = magnitude &* 10 &+ Int64(digit)
            cursor &+= 1
        }
        guard cursor > first, cursor - index <= limits.maxLineLength, cursor + 1 < bytes.count,
              base[cursor] == Self.cr, base[cursor + 1] == Self.lf else { return nil }
        return (negative ? -magnitude : magnitude, cursor + 2)
    }

    /// `length` bytes followed by CRLF; the cursor moves past the CRLF.
    private mutating func blob(_ length: Int) throws(RESPProtocolError) -> Range<Int>? {
        guard bytes.count - index >= length + 2 else { return nil }
        let range = index..<(index + length)
        guard bytes[range.upperBound] == Self.cr, bytes[range.upperBound + 1] == Self.lf else {
            index = range.upperBound
            throw error("bulk string not followed by CRLF")
        }
        index = range.upperBound + 2
        return range
    }

    private mutating func verbatim() throws(RESPProtocolError) -> RESPValue? {
        guard let length = try length(allowNull: false, limit: limits.maxBulkLength) else { return nil }
        guard let range = try blob(length) else { return nil }
        guard range.count >= 4, bytes[range.lowerBound + 3] == UInt8(ascii: ":") else {
            throw error("verbatim string without a format")
        }
        let format = text(range.lowerBound..<(range.lowerBound + 3))
        return .verbatimString(format: format, text: Array(bytes[(range.lowerBound + 4)..<range.upperBound]))
    }

    // MARK: Scalars

    private func integer(_ range: Range<Int>) throws(RESPProtocolError) -> Int64 {
        var digits = range
        var negative = false
        if let first = range.first, bytes[first] == UInt8(ascii: "-") || bytes[first] == UInt8(ascii: "+") {
            negative = bytes[first] == UInt8(ascii: "-")
            digits = range.dropFirst()
        }
        guard !digits.isEmpty, digits.count <= 19 else { throw error("malformed integer") }
        var magnitude: UInt64 = 0
        for position in digits {
            let byte = bytes[position]
            guard isDigit(byte) else { throw error("malformed integer") }
            magnitude = magnitude * 10 + UInt64(byte - UInt8(ascii: "0"))
        }
        if negative {
            guard magnitude <= UInt64(Int64.max) + 1 else { throw error("integer out of range") }
            return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { throw error("integer out of range") }
        return Int64(magnitude)
    }

    private func double(_ range: Range<Int>) throws(RESPProtocolError) -> Double {
        switch text(range) {
        case "inf", "+inf": return .infinity
        case "-inf": return -.infinity
        case "nan", "-nan": return .nan
        case let other:
            guard let value = Double(other) else { throw error("malformed double") }
            return value
        }
    }

    private func text(_ range: Range<Int>) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }

    private func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    private func error(_ reason: String) -> RESPProtocolError {
        RESPProtocolError(reason, offset: index)
    }
}
