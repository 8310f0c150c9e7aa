/// A reply read where it arrived: a cursor over one complete frame's bytes
/// that reads the fields its caller expects (an array's count, integers,
/// strings) without building a ``RESPValue``, whose every array and bulk
/// string costs an allocation.
///
/// Each read takes the element at the cursor by the rules of the
/// ``RESPValue`` accessor of the same name, attributes looked through, and
/// moves past that element whatever it is — except ``array()``, which
/// enters an aggregate and moves nowhere for anything else.
///
/// The bytes are borrowed: a reply is valid only during the call that
/// hands it over. Keep what is read from it, never the reply — which the
/// type enforces: it cannot be copied, and outside this package it is
/// only ever lent (`inout`, as by ``reading(_:_:)``), never owned, so it
/// cannot be kept past the closure it is lent to.
///
/// ```swift
/// let count = reply.array()      // *2 → 2, now at its first element
/// let code = reply.int()         // :1 → 1
/// let text = reply.string()      // $2 ok → "ok"
/// ```
public struct RESPReply: ~Copyable {
    private let frame: UnsafeRawBufferPointer
    private var index = 0

    /// The frame was checked against its reader's limits when it arrived.
    private static let unbounded = RESPLimits(maxDepth: .max, maxBulkLength: .max / 4, maxAggregateCount: .max / 4, maxLineLength: .max / 4)

    /// A reply over `frame`, one complete, well-formed RESP frame (as
    /// ``RESPDecoder`` frames them); read only while `frame` lives. Not
    /// public: a reply made outside the package could be kept.
    @usableFromInline package init(unsafeFrame frame: UnsafeRawBufferPointer) {
        self.frame = frame
    }

    /// Calls `body` with a reply over `value` written out as RESP (for a
    /// reply that arrived decoded).
    public static func reading<Result, Failure: Error>(
        _ value: RESPValue, _ body: (inout RESPReply) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        var frame: [UInt8] = []
        RESPEncoder.encode(value, into: &frame)
        let result = frame.withUnsafeBytes { frame in
            var reply = RESPReply(unsafeFrame: frame)
            return Swift.Result { () throws(Failure) in try body(&reply) }
        }
        return try result.get()
    }

    /// The element at the cursor decoded as a value (for a field read
    /// whole, off the hot path); the cursor moves past it.
    public mutating func value() -> RESPValue {
        let start = index
        skip()
        // Well-formed (and within its reader's limits) by this type's
        // contract: it decodes.
        let decoded = try? RESPDecoder(limits: Self.unbounded).decode(UnsafeRawBufferPointer(rebasing: frame[start..<index]))
        return decoded?.value ?? .null
    }

    /// Like ``RESPValue/array``: the element count of an array, set or
    /// push (a map's keys and values, alternating), after which the cursor
    /// is at its first element; nil for anything else, the cursor left where it was.
    public mutating func array() -> Int? {
        let start = index
        skipAttributes()
        let type = frame[index]
        switch type {
        case UInt8(ascii: "*"), UInt8(ascii: "~"), UInt8(ascii: ">"), UInt8(ascii: "%"):
            index += 1
            // One digit (a script's reply has at most nine fields) read at
            // once, as ``int()`` reads one: the digit, then CRLF.
            let digit = frame[index] &- UInt8(ascii: "0")
            if digit < 10, frame[index &+ 1] == UInt8(ascii: "\r") {
                index &+= 3
                return Int(type == UInt8(ascii: "%") ? 2 &* digit : digit)
            }
            let count = decimalLine()
            guard count >= 0 else { break }
            return Int(type == UInt8(ascii: "%") ? 2 * count : count)
        default:
            break
        }
        index = start
        return nil
    }

    /// Like ``RESPValue/int``: an integer, or a simple or bulk string
    /// holding a decimal integer.
    public mutating func int() -> Int? {
        // An integer (a script's usual field) read here; anything else by
        // a call of its own, so that the usual path saves no registers for
        // the others (seven integers a grant).
        guard frame[index] == UInt8(ascii: ":") else { return intOtherwise() }
        // One digit (a kind, a flag, a count: four of a grant's seven
        // fields) read at once: `:`, the digit, CRLF — its CR, in a
        // well-formed frame, says nothing else comes first (~20
        // instructions less than the line's loop).
        let digit = frame[index &+ 1] &- UInt8(ascii: "0")
        if digit < 10, frame[index &+ 2] == UInt8(ascii: "\r") {
            index &+= 4
            return Int(digit)
        }
        index &+= 1
        return Int(exactly: decimalLine())
    }

    /// ``int()`` for anything but a plain integer: one behind attributes,
    /// a string holding one, or another type.
    @inline(never)
    private mutating func intOtherwise() -> Int? {
        skipAttributes()
        switch frame[index] {
        case UInt8(ascii: ":"):
            index += 1
            return Int(exactly: decimalLine())
        case UInt8(ascii: "+"), UInt8(ascii: "$"):
            return string().flatMap { Int($0) }
        default:
            skip()
            return nil
        }
    }

    /// Like ``RESPValue/string``: the text of a simple, bulk or verbatim
    /// string or a big number.
    public mutating func string() -> String? {
        // An empty bulk string (an unset field, as often as not) read at
        // once: `$0`, CRLF, CRLF (~90 instructions less than the general
        // path); another empty one without the decoding's generic path
        // (~120 instructions).
        if frame[index] == UInt8(ascii: "$"), frame[index + 1] == UInt8(ascii: "0"), frame[index + 2] == UInt8(ascii: "\r") {
            index += 6
            return ""
        }
        return withBytes(bigNumbers: true) { $0.isEmpty ? "" : String(decoding: $0, as: UTF8.self) }
    }

    /// The one byte of a simple, bulk or verbatim string of one byte (a
    /// mode, a flag); nil for anything else. ``withBytes(_:)`` would do,
    /// but a generic across modules is not specialized: ~200 instructions
    /// a call where this costs a fraction.
    public mutating func byte() -> UInt8? {
        // A bulk string of one byte read at once: `$1`, CRLF, the byte,
        // CRLF (~90 instructions less than the general path).
        if frame[index] == UInt8(ascii: "$"), frame[index + 1] == UInt8(ascii: "1"), frame[index + 2] == UInt8(ascii: "\r") {
            let byte = frame[index + 4]
            index += 7
            return byte
        }
        return withBytes(bigNumbers: false) { $0.count == 1 ? $0[0] : nil } ?? nil
    }

    /// Like ``RESPValue/bytes``: the bytes of a bulk, simple or verbatim string.
    public mutating func bytes() -> [UInt8]? {
        withBytes(bigNumbers: false) { Array($0) }
    }

    /// ``bytes()`` lent to `body` where they lie, not copied.
    public mutating func withBytes<Value>(_ body: (UnsafeRawBufferPointer) -> Value) -> Value? {
        withBytes(bigNumbers: false, body)
    }

    /// Calls `body` with the bytes of a bulk, simple or verbatim string
    /// (a big number's digits too, when `bigNumbers`), read in place.
    private mutating func withBytes<Value>(bigNumbers: Bool, _ body: (UnsafeRawBufferPointer) -> Value) -> Value? {
        skipAttributes()
        let type = frame[index]
        switch type {
        case UInt8(ascii: "+"), UInt8(ascii: "("):
            guard type == UInt8(ascii: "+") || bigNumbers else { break }
            index += 1
            return body(UnsafeRawBufferPointer(rebasing: frame[line()]))
        case UInt8(ascii: "$"), UInt8(ascii: "="):
            index += 1
            let length = decimalLine()
            guard length >= 0 else { return nil }
            let start = index + (type == UInt8(ascii: "=") ? 4 : 0)
            index += Int(length) + 2
            return body(UnsafeRawBufferPointer(rebasing: frame[start..<(index - 2)]))
        default:
            break
        }
        skip()
        return nil
    }

    /// Moves past the element at the cursor.
    private mutating func skip() {
        let type = frame[index]
        index += 1
        switch type {
        case UInt8(ascii: "$"), UInt8(ascii: "!"), UInt8(ascii: "="):
            let length = decimalLine()
            if length >= 0 { index += Int(length) + 2 }
        case UInt8(ascii: "*"), UInt8(ascii: "~"), UInt8(ascii: ">"):
            for _ in 0..<max(0, decimalLine()) { skip() }
        case UInt8(ascii: "%"):
            for _ in 0..<2 * max(0, decimalLine()) { skip() }
        case UInt8(ascii: "|"):
            for _ in 0..<2 * max(0, decimalLine()) { skip() }
            skip()
        default:
            _ = line()
        }
    }

    /// Moves past any attributes before the element at the cursor. Every
    /// read starts here, and almost no reply has attributes: the look is
    /// inlined into each read (a call of its own cost ~24 instructions a
    /// read, a dozen reads a lock cycle), the skipping is not.
    @inline(__always)
    private mutating func skipAttributes() {
        if frame[index] == UInt8(ascii: "|") { skipAttributesPresent() }
    }

    /// ``skipAttributes()`` once there are some.
    @inline(never)
    private mutating func skipAttributesPresent() {
        while frame[index] == UInt8(ascii: "|") {
            index += 1
            for _ in 0..<2 * max(0, decimalLine()) { skip() }
        }
    }

    /// The line at the cursor, up to its CR; the cursor moves past its CRLF.
    private mutating func line() -> Range<Int> {
        let start = index
        while frame[index] != UInt8(ascii: "\r") { index += 1 }
        index += 2
        return start..<(index - 2)
    }

    /// The signed decimal line at the cursor (an integer, a length or a
    /// count), read in one pass: its digits, then its CRLF (a well-formed
    /// frame has nothing between them; a scan for the CR first, then the
    /// digits, went over each line twice).
    // (The cursor moves by wrapping steps: it stays within the frame,
    // checked whole before it is read, so no step can overflow, and the
    // checks cost ~2 instructions a digit, ~25 a grant's 13-digit clock.)
    private mutating func decimalLine() -> Int64 {
        var cursor = index
        let negative = frame[cursor] == UInt8(ascii: "-")
        if negative || frame[cursor] == UInt8(ascii: "+") { cursor &+= 1 }
        var magnitude: UInt64 = 0
        // Eight digits at once, twice at most, where eight bytes are left and
        // all are digits (a grant's 16-digit fence and 13-digit clock: ~7
        // instructions a digit by the byte, ~2 that way; a short number
        // pays the one check). The same value as by the byte: wrapping
        // steps of 10^8 and of 10 agree modulo 2^64.
        if frame.count &- cursor >= 8, let first = eightDigits(at: cursor) {
            magnitude = first
            cursor &+= 8
            if frame.count &- cursor >= 8, let second = eightDigits(at: cursor) {
                magnitude = magnitude &* 100_000_000 &+ second
                cursor &+= 8
            }
        }
        while true {
            let digit = frame[cursor] &- UInt8(ascii: "0")
            guard digit < 10 else { break }
            magnitude = magnitude &* 10 &+ UInt64(digit)
            cursor &+= 1
        }
        // (At the CR already, in a well-formed frame.)
        while frame[cursor] != UInt8(ascii: "\r") { cursor &+= 1 }
        index = cursor &+ 2
        return negative ? Int64(truncatingIfNeeded: 0 &- magnitude) : Int64(truncatingIfNeeded: magnitude)
    }

    /// The number the eight bytes from `offset` (within the frame) make,
    /// nil unless all are digits: pairs, then fours, then the eight joined
    /// by a multiply each, the first digit in the lowest byte (simdjson's
    /// `parse_eight_digits_unrolled`).
    @inline(__always)
    private func eightDigits(at offset: Int) -> UInt64? {
        let word = UInt64(littleEndian: frame.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
        // A digit's byte becomes 0...9; adding 0x76 leaves its top bit
        // clear only then (any byte already ≥ 0x80 is caught by the `|`).
        let digits = word ^ 0x3030_3030_3030_3030
        guard ((digits &+ 0x7676_7676_7676_7676) | digits) & 0x8080_8080_8080_8080 == 0 else { return nil }
        let pairs = ((digits & 0x0F0F_0F0F_0F0F_0F0F) &* 2561) &>> 8
        let fours = ((pairs & 0x00FF_00FF_00FF_00FF) &* 6_553_601) &>> 16
        return ((fours & 0x0000_FFFF_0000_FFFF) &* 42_949_672_960_001) &>> 32
    }
}
