/// Where each field of a flat JSON object is in its bytes, found in one
/// pass without making a value of any member: the body every client sends
/// (an acquire's `{"ttl_ms":30000}`), parsed into ``JSONValue``s, cost ~1.5 k
/// instructions an acquire.
///
/// Flat means: one object whose members are each a known field, once, with
/// a string without escapes or bytes beyond ASCII, an integer of at most 18
/// digits, `true`, `false` or `null`. For anything else — nesting,
/// escapes, fractions, exponents, other text, an unknown or repeated
/// field, malformed JSON — the scan gives up (nil) and the body goes to
/// `JSONParser`, whose values and errors stay the reference: the scan only
/// ever answers what the parser would.
struct FlatJSONMembers<Field: RequestField> {
    /// What kind of value a member holds.
    enum Kind: UInt64 {
        case string = 1, number, boolean, null

        /// As ``JSONValue/typeName`` names it.
        var typeName: String {
            switch self {
            case .string: "a string"
            case .number: "a number"
            case .boolean: "a boolean"
            case .null: "null"
            }
        }
    }

    /// Per field slot: 0 when absent, else the kind (bits 0–7), where the
    /// value starts (bits 8–31; a string's first byte inside its quotes)
    /// and its length in bytes (bits 32–55).
    private var slots: InlineArray<8, UInt64> = .init(repeating: 0)
    /// Bit `slot` set for each field the body has.
    private(set) var present: UInt8 = 0

    /// No members: a body's before it is scanned, or one the parser read.
    init() {}

    /// The longest body scanned (offsets fit 24 bits).
    private static var maxCount: Int { 1 << 24 }

    /// Scans `body`; nil when it is not a flat object of known fields.
    ///
    /// Read through a pointer, each key matched in place against the
    /// fields' names (a name and then a quote is that key whole: no name
    /// holds a quote or a backslash). Finding a key's end first and then
    /// its field by name, through an index checked against the count at
    /// every byte, cost `{"ttl_ms":1000}` ~0.33 k instructions.
    init?(_ body: UnsafeBufferPointer<UInt8>) {
        guard body.count < Self.maxCount, let start = body.baseAddress else { return nil }
        let end = start + body.count
        var position = start
        @inline(__always) func skipSpace() {
            while position < end, position.pointee <= 0x20,
                  position.pointee == 0x20 || position.pointee == 0x09 || position.pointee == 0x0A || position.pointee == 0x0D {
                position += 1
            }
        }
        /// Past the quote that closes a string whose first byte is at
        /// `position`; nil at an escape, a control byte, a byte beyond
        /// ASCII or the end.
        @inline(__always) func skipPlainString() -> Bool {
            while position < end {
                let byte = position.pointee
                position += 1
                if byte == UInt8(ascii: "\"") { return true }
                // A backslash, or below 0x20 or above 0x7F (wrapping: the difference is then at least 0x60).
                if byte == UInt8(ascii: "\\") || byte &- 0x20 >= 0x60 { return false }
            }
            return false
        }
        @inline(__always) func literal(_ text: StaticString) -> Bool {
            let count = text.utf8CodeUnitCount
            guard end - position >= count else { return false }
            for offset in 0..<count where position[offset] != text.utf8Start[offset] { return false }
            position += count
            return true
        }
        skipSpace()
        guard position < end, position.pointee == UInt8(ascii: "{") else { return nil }
        position += 1
        skipSpace()
        if position < end, position.pointee == UInt8(ascii: "}") {
            position += 1
        } else {
            while true {
                guard position < end, position.pointee == UInt8(ascii: "\""),
                      let field = Self.field(at: position + 1, end: end), slots[field.rawValue] == 0
                else { return nil }
                // Past the quote, the name and its closing quote.
                position += field.name.utf8CodeUnitCount + 2
                skipSpace()
                guard position < end, position.pointee == UInt8(ascii: ":") else { return nil }
                position += 1
                skipSpace()
                guard position < end else { return nil }
                let kind: Kind
                var valueStart = position
                switch position.pointee {
                case UInt8(ascii: "\""):
                    position += 1
                    valueStart = position
                    guard skipPlainString() else { return nil }
                    kind = .string
                case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                    if position.pointee == UInt8(ascii: "-") { position += 1 }
                    let digits = position
                    // A leading 0 stands alone: any digit after it is no JSON (the parser says so).
                    if position < end, position.pointee == UInt8(ascii: "0") {
                        position += 1
                    } else {
                        while position < end, position.pointee &- UInt8(ascii: "0") < 10 { position += 1 }
                    }
                    guard position > digits, position - digits <= 18 else { return nil }
                    kind = .number
                case UInt8(ascii: "t"):
                    guard literal("true") else { return nil }
                    kind = .boolean
                case UInt8(ascii: "f"):
                    guard literal("false") else { return nil }
                    kind = .boolean
                case UInt8(ascii: "n"):
                    guard literal("null") else { return nil }
                    kind = .null
                default:
                    return nil
                }
                let length = (kind == .string ? position - 1 : position) - valueStart
                slots[field.rawValue] = kind.rawValue | UInt64(valueStart - start) << 8 | UInt64(length) << 32
                present |= 1 << UInt8(field.rawValue)
                skipSpace()
                guard position < end else { return nil }
                if position.pointee == UInt8(ascii: "}") {
                    position += 1
                    break
                }
                guard position.pointee == UInt8(ascii: ",") else { return nil }
                position += 1
                skipSpace()
            }
        }
        skipSpace()
        guard position == end else { return nil }
    }

    /// The field whose name, then a quote, is at `key` (before `end`); nil
    /// when no field's is.
    @inline(__always)
    private static func field(at key: UnsafePointer<UInt8>, end: UnsafePointer<UInt8>) -> Field? {
        let room = end - key
        var slot = 0
        while let field = Field(rawValue: slot) {
            let name = field.name
            let count = name.utf8CodeUnitCount
            if room > count, key[count] == UInt8(ascii: "\""), key.pointee == name.utf8Start.pointee {
                var offset = 1
                while offset < count, key[offset] == name.utf8Start[offset] { offset += 1 }
                if offset == count { return field }
            }
            slot += 1
        }
        return nil
    }

    /// The kind of `field`'s value; nil when the body has no such member.
    func kind(of field: Field) -> Kind? {
        Kind(rawValue: slots[field.rawValue] & 0xFF)
    }

    /// Where `field`'s value is in the body (a string's inside its quotes).
    func range(of field: Field) -> Range<Int> {
        let slot = slots[field.rawValue]
        let start = Int(slot >> 8 & 0xFF_FFFF)
        return start..<(start + Int(slot >> 32 & 0xFF_FFFF))
    }

    /// The integer at `range` of `body` (a ``Kind/number``: an optional
    /// `-` and at most 18 digits, so it fits).
    ///
    /// Wrapping arithmetic: 18 digits stay below 10^18 < 2^63, so nothing
    /// wraps, and the overflow checks cost each digit a test and a branch.
    static func integer(_ range: Range<Int>, of body: UnsafeBufferPointer<UInt8>) -> Int64 {
        var index = range.lowerBound
        let negative = body[index] == UInt8(ascii: "-")
        if negative { index &+= 1 }
        var value: Int64 = 0
        while index < range.upperBound {
            value = value &* 10 &+ Int64(body[index] &- UInt8(ascii: "0"))
            index &+= 1
        }
        return negative ? 0 &- value : value
    }
}
