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

    /// The longest body scanned (offsets fit 24 bits).
    private static var maxCount: Int { 1 << 24 }

    /// Scans `body`; nil when it is not a flat object of known fields.
    init?(_ body: UnsafeBufferPointer<UInt8>) {
        guard body.count < Self.maxCount else { return nil }
        var index = 0
        func skipSpace() {
            while index < body.count, body[index] == 0x20 || body[index] == 0x09 || body[index] == 0x0A || body[index] == 0x0D { index += 1 }
        }
        /// The index of the quote that closes a string starting at `start`;
        /// nil at an escape, a control byte, a byte beyond ASCII or the end.
        func plainStringEnd(from start: Int) -> Int? {
            var end = start
            while end < body.count {
                switch body[end] {
                case UInt8(ascii: "\""): return end
                case UInt8(ascii: "\\"), 0..<0x20, 0x80...: return nil
                default: end += 1
                }
            }
            return nil
        }
        func literal(_ text: StaticString) -> Bool {
            let count = text.utf8CodeUnitCount
            guard body.count - index >= count else { return false }
            for offset in 0..<count where body[index + offset] != text.utf8Start[offset] { return false }
            index += count
            return true
        }
        skipSpace()
        guard index < body.count, body[index] == UInt8(ascii: "{") else { return nil }
        index += 1
        skipSpace()
        if index < body.count, body[index] == UInt8(ascii: "}") {
            index += 1
        } else {
            while true {
                guard index < body.count, body[index] == UInt8(ascii: "\"") else { return nil }
                guard let keyEnd = plainStringEnd(from: index + 1),
                      let field = Field.named(UnsafeBufferPointer(rebasing: body[(index + 1)..<keyEnd])),
                      slots[field.rawValue] == 0
                else { return nil }
                index = keyEnd + 1
                skipSpace()
                guard index < body.count, body[index] == UInt8(ascii: ":") else { return nil }
                index += 1
                skipSpace()
                guard index < body.count else { return nil }
                let kind: Kind
                var start = index
                switch body[index] {
                case UInt8(ascii: "\""):
                    guard let end = plainStringEnd(from: index + 1) else { return nil }
                    kind = .string
                    start = index + 1
                    index = end + 1
                case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                    if body[index] == UInt8(ascii: "-") { index += 1 }
                    let digits = index
                    // A leading 0 stands alone: any digit after it is no JSON (the parser says so).
                    if index < body.count, body[index] == UInt8(ascii: "0") {
                        index += 1
                    } else {
                        while index < body.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(body[index]) { index += 1 }
                    }
                    guard index > digits, index - digits <= 18 else { return nil }
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
                let length = (kind == .string ? index - 1 : index) - start
                slots[field.rawValue] = kind.rawValue | UInt64(start) << 8 | UInt64(length) << 32
                skipSpace()
                guard index < body.count else { return nil }
                if body[index] == UInt8(ascii: "}") {
                    index += 1
                    break
                }
                guard body[index] == UInt8(ascii: ",") else { return nil }
                index += 1
                skipSpace()
            }
        }
        skipSpace()
        guard index == body.count else { return nil }
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
    static func integer(_ range: Range<Int>, of body: UnsafeBufferPointer<UInt8>) -> Int64 {
        var index = range.lowerBound
        let negative = body[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        var value: Int64 = 0
        while index < range.upperBound {
            value = value * 10 + Int64(body[index] &- UInt8(ascii: "0"))
            index += 1
        }
        return negative ? -value : value
    }
}
