/// Checks a plain frame — integers, simple and bulk strings, nulls, and
/// arrays of them — for ``RESPDecoder/plainFrameLength(_:)``: complete,
/// well-formed and within the limits, exactly as ``RESPReader/value(depth:)``
/// would accept it, without decoding it.
///
/// Every lock request's reply passes here before it is read in place
/// (an acquire's is nine fields, two of them 13- and 16-digit integers), so
/// the usual case is kept cheap: an array's integers and bulk strings are
/// checked in its own loop rather than by a call each, and a run of digits is
/// found eight bytes at a time. A recursive reader with a call per element and
/// a byte per step cost ~0.9 k instructions an acquire's reply.
///
/// Index arithmetic wraps (`&+`, `&-`) rather than trapping: every index
/// stays within `0...end` (a buffer's count), each step past a byte or a
/// CRLF follows a check that they lie before `end`, and a length or count
/// is at most 18 digits (below 10^18) and checked against its limit before
/// it is added — no sum can overflow. The overflow checks cost a third of
/// the scan's instructions (~0.1 k an acquire's reply).
struct PlainFrameScanner {
    let base: UnsafePointer<UInt8>
    /// How many bytes there are: nothing at or past it is read.
    let end: Int
    let limits: RESPLimits
    var index: Int

    private static let cr = UInt8(ascii: "\r")
    private static let lf = UInt8(ascii: "\n")

    /// Moves past the plain frame at `index`; false for anything else
    /// (another type, cut short, malformed, over a limit).
    mutating func skip(depth: Int) -> Bool {
        guard index < end else { return false }
        let type = base[index]
        index &+= 1
        switch type {
        case UInt8(ascii: ":"):
            return skipInteger()
        case UInt8(ascii: "$"):
            return skipBulk()
        case UInt8(ascii: "*"):
            guard index < end else { return false }
            if base[index] == UInt8(ascii: "-") { return skipNull() }
            guard let count = unsignedLine(), count <= limits.maxAggregateCount, depth < limits.maxDepth else { return false }
            // The elements are scanned by a copy of the scanner that no call
            // can reach (a nested frame is given a copy of its own): `self`
            // lives in memory, as the recursive call takes it `inout`, so
            // its index, end, base and limits were stored and loaded again
            // for every element (~6 instructions an element).
            var elements = self
            let (base, end, limits) = (elements.base, elements.end, elements.limits)
            for _ in 0..<count {
                guard elements.index < end else { return false }
                switch base[elements.index] {
                case UInt8(ascii: ":"):
                    elements.index &+= 1
                    guard elements.skipInteger() else { return false }
                case UInt8(ascii: "$"):
                    // A length of one digit (an empty owner, a mode) checked
                    // at once: the digit, CRLF, that many bytes, CRLF.
                    let at = elements.index
                    if end &- at >= 6 {
                        let length = Int(base[at &+ 1] &- UInt8(ascii: "0"))
                        if length < 10, base[at &+ 2] == Self.cr, base[at &+ 3] == Self.lf, end &- at >= 6 &+ length,
                           base[at &+ 4 &+ length] == Self.cr, base[at &+ 5 &+ length] == Self.lf,
                           length <= limits.maxBulkLength, limits.maxLineLength >= 1 {
                            elements.index &+= 6 &+ length
                            continue
                        }
                    }
                    elements.index &+= 1
                    guard elements.skipBulk() else { return false }
                default:
                    guard let next = Self.nestedFrameEnd(base: base, end: end, limits: limits, index: elements.index, depth: depth &+ 1) else {
                        return false
                    }
                    elements.index = next
                }
            }
            index = elements.index
            return true
        case UInt8(ascii: "+"):
            var cursor = index
            while cursor < end, base[cursor] != Self.cr, base[cursor] != Self.lf { cursor &+= 1 }
            guard cursor &- index <= limits.maxLineLength, cursor &+ 1 < end, base[cursor] == Self.cr, base[cursor &+ 1] == Self.lf else {
                return false
            }
            index = cursor &+ 2
            return true
        case UInt8(ascii: "_"):
            guard end &- index >= 2, base[index] == Self.cr, base[index &+ 1] == Self.lf else { return false }
            index &+= 2
            return true
        default:
            return false
        }
    }

    /// Where a frame nested in an array ends (nil: it is no plain frame),
    /// scanned by a scanner of its own: `elements` above is never passed
    /// `inout` to a call, so it stays in registers.
    @inline(never)
    private static func nestedFrameEnd(base: UnsafePointer<UInt8>, end: Int, limits: RESPLimits, index: Int, depth: Int) -> Int? {
        var nested = PlainFrameScanner(base: base, end: end, limits: limits, index: index)
        return nested.skip(depth: depth) ? nested.index : nil
    }

    /// After `:`: an optional sign, 1 to 18 digits (what the decoder reads
    /// without an overflow check; a longer integer is left to it), CRLF.
    @inline(__always)
    private mutating func skipInteger() -> Bool {
        // One digit (a release's reply, four of a grant's seven integers)
        // checked at once: the digit, CR, LF.
        if end &- index >= 3, base[index] &- UInt8(ascii: "0") < 10, base[index &+ 1] == Self.cr, base[index &+ 2] == Self.lf,
           limits.maxLineLength >= 1 {
            index &+= 3
            return true
        }
        var cursor = index
        if cursor < end, base[cursor] == UInt8(ascii: "-") || base[cursor] == UInt8(ascii: "+") { cursor &+= 1 }
        let digitsEnd = digitsEnd(from: cursor)
        let digits = digitsEnd &- cursor
        guard digits > 0, digits <= 18, digitsEnd &- index <= limits.maxLineLength, digitsEnd &+ 1 < end,
              base[digitsEnd] == Self.cr, base[digitsEnd &+ 1] == Self.lf else { return false }
        index = digitsEnd &+ 2
        return true
    }

    /// After `$`: a null, or a length within the limit, that many bytes and CRLF.
    @inline(__always)
    private mutating func skipBulk() -> Bool {
        guard index < end else { return false }
        if base[index] == UInt8(ascii: "-") { return skipNull() }
        guard let length = unsignedLine(), length <= limits.maxBulkLength, end &- index >= length &+ 2,
              base[index &+ length] == Self.cr, base[index &+ length &+ 1] == Self.lf else { return false }
        index &+= length &+ 2
        return true
    }

    /// After `$` or `*`, at its `-`: a null, `-1` exactly.
    @inline(__always)
    private mutating func skipNull() -> Bool {
        guard end &- index >= 4, base[index &+ 1] == UInt8(ascii: "1"), base[index &+ 2] == Self.cr, base[index &+ 3] == Self.lf else {
            return false
        }
        index &+= 4
        return true
    }

    /// A length or a count: 1 to 18 digits, no sign, then CRLF; the index
    /// moves past it. Nil otherwise.
    @inline(__always)
    private mutating func unsignedLine() -> Int? {
        var cursor = index
        var value = 0
        while cursor < end {
            let digit = base[cursor] &- UInt8(ascii: "0")
            guard digit < 10 else { break }
            value = value &* 10 &+ Int(digit)
            cursor &+= 1
        }
        let digits = cursor &- index
        guard digits > 0, digits <= 18, digits <= limits.maxLineLength, cursor &+ 1 < end, base[cursor] == Self.cr,
              base[cursor &+ 1] == Self.lf else { return nil }
        index = cursor &+ 2
        return value
    }

    /// Where the run of ASCII digits from `start` ends: eight bytes at a
    /// time while eight remain, then byte by byte.
    @inline(__always)
    private func digitsEnd(from start: Int) -> Int {
        var cursor = start
        while end &- cursor >= 8 {
            let word = UInt64(littleEndian: UnsafeRawPointer(base + cursor).loadUnaligned(as: UInt64.self))
            // A digit's byte becomes 0...9; adding 0x76 leaves its top bit
            // clear only then (any byte already ≥ 0x80 is caught by the `|`).
            // A carry out of a byte reaches only later bytes, past the first
            // non-digit, which is all that is looked for.
            let offset = word ^ 0x3030_3030_3030_3030
            let nonDigits = ((offset &+ 0x7676_7676_7676_7676) | offset) & 0x8080_8080_8080_8080
            if nonDigits != 0 { return cursor &+ nonDigits.trailingZeroBitCount &>> 3 }
            cursor &+= 8
        }
        while cursor < end, base[cursor] &- UInt8(ascii: "0") < 10 { cursor &+= 1 }
        return cursor
    }
}
