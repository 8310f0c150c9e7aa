@testable import LockdAPI
import LockEngine
import LockdJSON
import Testing

/// review7: the flat body scan must answer every body exactly as main's
/// parser-only `RequestBody` did (values and error words alike). The
/// reference below is main's reader, kept verbatim but for its name.
@Suite struct FlatBodyDifferentialReviewTests {
    /// main's `RequestBody` (parser only), for comparison.
    struct ReferenceBody<Field: RequestField> {
        private var members: [JSONMember] = []
        private var memberBySlot: UInt64 = 0

        init(_ bytes: [UInt8]) throws(LockError) {
            guard bytes.contains(where: { !($0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D) }) else { return }
            let document: JSONValue
            do {
                document = try JSONParser.parse(bytes)
            } catch {
                throw .invalidRequest("body is not valid JSON: \(error.reason) at byte \(error.offset)")
            }
            guard case .object(let members) = document else {
                throw .invalidRequest("body must be a JSON object, not \(document.typeName)")
            }
            for (index, member) in members.enumerated() {
                let key = member.name
                guard let field = Field.named(key) else {
                    throw .invalidRequest("unknown field '\(key)'; allowed fields: \(Field.names)")
                }
                let shift = UInt64(field.rawValue * 8)
                guard (memberBySlot >> shift) & 0xFF == 0 else {
                    throw .invalidRequest("field '\(key)' appears more than once")
                }
                memberBySlot |= UInt64(index + 1) << shift
            }
            self.members = members
        }

        private func value(of field: Field) -> JSONValue? {
            let position = Int((memberBySlot >> UInt64(field.rawValue * 8)) & 0xFF)
            return position == 0 ? nil : members[position - 1].value
        }

        func integer(_ field: Field) throws(LockError) -> Int64? {
            guard let value = value(of: field) else { return nil }
            guard case .number(let text) = value else {
                throw .invalidRequest("\(field.name) must be an integer, not \(value.typeName)")
            }
            if let exact = Int64(text) { return exact }
            guard let approximate = Double(text), approximate.rounded() == approximate,
                  abs(approximate) < 9_007_199_254_740_992
            else { throw .invalidRequest("\(field.name) must be a whole number within range, not \(text)") }
            return Int64(approximate)
        }

        func string(_ field: Field) throws(LockError) -> String? {
            guard let value = value(of: field) else { return nil }
            guard case .string(let text) = value else {
                throw .invalidRequest("\(field.name) must be a string, not \(value.typeName)")
            }
            return text
        }
    }

    /// Every field of `Field` read both ways, as text: the outcome a client sees.
    static func outcome<Field: RequestField>(_ bytes: [UInt8], _: Field.Type, reference: Bool) -> [String] {
        func describe(_ read: () throws(LockError) -> String) -> String {
            do { return try read() } catch { return "error: \(error)" }
        }
        var fields: [Field] = []
        var slot = 0
        while let field = Field(rawValue: slot) { fields.append(field); slot += 1 }
        if reference {
            let body: ReferenceBody<Field>
            do { body = try ReferenceBody<Field>(bytes) } catch { return ["init error: \(error)"] }
            return fields.flatMap { field in
                [describe { () throws(LockError) in "\(String(describing: try body.integer(field)))" },
                 describe { () throws(LockError) in "\(String(describing: try body.string(field)))" }]
            }
        }
        do {
            return try RequestBody<Field>.read(bytes) { body in
                fields.flatMap { field in
                    [describe { () throws(LockError) in "\(String(describing: try body.integer(field)))" },
                     describe { () throws(LockError) in "\(String(describing: try body.string(field)))" }]
                }
            }
        } catch {
            // The closure throws nothing (each read is described): the error is parsing's.
            return ["init error: \(error)"]
        }
    }

    static func expectSame(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) {
        let acquireNew = outcome(bytes, AcquireField.self, reference: false), acquireOld = outcome(bytes, AcquireField.self, reference: true)
        #expect(acquireNew == acquireOld, "acquire body \(bytes)", sourceLocation: sourceLocation)
        let renewNew = outcome(bytes, RenewField.self, reference: false), renewOld = outcome(bytes, RenewField.self, reference: true)
        #expect(renewNew == renewOld, "renew body \(bytes)", sourceLocation: sourceLocation)
    }

    static let table: [[UInt8]] = ([
        "", " ", "\r\n\t ", "{}", " {} ", "{ }", "[]", "[1]", "null", "1", "\"x\"", "true",
        #"{"ttl_ms":1000}"#, #"{"ttl_ms":1000,"ttl_ms":1000}"#, #"{"ttl_ms":1000,"ttl_ms":2000}"#,
        #"{"nope":1}"#, #"{"ttl_ms":1000,"nope":{"a":1}}"#, #"{"owner":{"a":1}}"#, #"{"owner":[]}"#,
        #"{"owner":"\u00e9"}"#, #"{"owner":"\ud83d\ude00"}"#, #"{"owner":"\ud83d"}"#, #"{"owner":"\ude00x"}"#,
        "{\"owner\":\"é\"}", "{\"owner\":\"😀\"}", #"{"owner":"a\"b\\c\/d\n"}"#, #"{"client":"x"}"#,
        " { \"ttl_ms\" :\t30000 ,\r\n \"owner\" : \"me\" } \n", "{\"ttl_ms\"\u{0B}:1}", "\u{FEFF}{}",
        #"{"ttl_ms":1e3}"#, #"{"ttl_ms":1E3}"#, #"{"ttl_ms":1000.0}"#, #"{"ttl_ms":1.5}"#, #"{"ttl_ms":-0}"#,
        #"{"ttl_ms":-0.0}"#, #"{"ttl_ms":0}"#, #"{"ttl_ms":00}"#, #"{"ttl_ms":01}"#, #"{"ttl_ms":-}"#, #"{"ttl_ms":+1}"#,
        #"{"ttl_ms":999999999999999999}"#, #"{"ttl_ms":-999999999999999999}"#, #"{"ttl_ms":9223372036854775807}"#,
        #"{"ttl_ms":9223372036854775808}"#, #"{"ttl_ms":-9223372036854775808}"#, #"{"ttl_ms":123456789012345678901234}"#,
        #"{"ttl_ms":1e400}"#, #"{"ttl_ms":null}"#, #"{"owner":null}"#, #"{"ttl_ms":"1000"}"#, #"{"ttl_ms":true}"#,
        #"{"ttl_ms":false}"#, #"{"ttl_ms":tru}"#, #"{"ttl_ms":nulll}"#, #"{"owner":5}"#, #"{"mode":"shared","limit":1}"#,
        #"{"ttl_ms":1000}x"#, #"{"ttl_ms":1000},"#, #"{"ttl_ms":1000}{}"#, #"{"ttl_ms":1000,}"#, #"{,"ttl_ms":1000}"#,
        #"{"ttl_ms":1000"#, #"{"ttl_ms":"#, #"{"ttl_ms""#, #"{"ttl_ms"#, "{", #"{"ttl_ms" 1000}"#, #"{"ttl_ms":1000 2}"#,
        #"{"ttl\u005fms":1}"#, #"{"":1}"#, #"{"TTL_MS":1}"#, #"{"ttl_ms ":1}"#, "{\"owner\":\"a\tb\"}", "{\"owner\":\"a\u{7F}b\"}",
        #"{"token":"abcdefghijklmnopqrstuvwxyz012345"}"#, #"{"durability":"primary","ttl_ms":5}"#, #"{"durability":1}"#,
        #"{'ttl_ms':1}"#, #"{ttl_ms:1}"#,
    ] as [String]).map { Array($0.utf8) } + [
        [0x7B, 0x22, 0x6F, 0x77, 0x6E, 0x65, 0x72, 0x22, 0x3A, 0x22, 0xFF, 0x22, 0x7D],  // {"owner":"\xFF"}
        [0x7B, 0x22, 0x6F, 0x77, 0x6E, 0x65, 0x72, 0x22, 0x3A, 0x22, 0xC3, 0x22, 0x7D],  // a cut 2-byte sequence
        [0x7B, 0x22, 0x6F, 0x77, 0x6E, 0x65, 0x72, 0x22, 0x3A, 0x22, 0x00, 0x22, 0x7D],  // NUL in a string
        [0x7B, 0x7D, 0x00],  // {} then NUL
        [0xFF, 0x7B, 0x7D],
    ]

    @Test func tableReadsAsMainRead() {
        for bytes in Self.table { Self.expectSame(bytes) }
    }

    /// Seeded mutations of realistic bodies (insert, delete, replace a
    /// byte from JSON's own characters and a few others): ~30 000 bodies,
    /// each read both ways.
    @Test func mutatedBodiesReadAsMainRead() {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> Int {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return Int(truncatingIfNeeded: state >> 1)
        }
        let seeds = [
            #"{"ttl_ms":30000,"wait_ms":250,"owner":"me","limit":2,"mode":"shared"}"#,
            #"{"token":"abcdefghijklmnopqrstuvwxyz012345","durability":"replicated","lock_delay_ms":0}"#,
            #"{"ttl_ms":-0,"owner":null,"wait_ms":true}"#, #"{}"#, #"{"ttl_ms":1}"#,
        ].map { Array($0.utf8) }
        let pool = Array(#"{}[]":,0123456789-+.eE tfnul\"x_"#.utf8) + [0x0A, 0x09, 0x00, 0x7F, 0xC3, 0xA9, 0xFF]
        for _ in 0..<30_000 {
            var body = seeds[next() % seeds.count]
            for _ in 0..<(1 + next() % 3) {
                let at = next() % (body.count + 1)
                switch next() % 3 {
                case 0: body.insert(pool[next() % pool.count], at: at)
                case 1: if at < body.count { body.remove(at: at) }
                default: if at < body.count { body[at] = pool[next() % pool.count] }
                }
            }
            Self.expectSame(body)
        }
    }

    /// RFC 3339 text as main wrote it (a digit at a time), against the pairs.
    @Test func instantsAreWrittenAsMainWroteThem() {
        var state: UInt64 = 12345
        var values: [Int64] = [0, -1, 1, 999, 1_000, -1_000, 86_399_999, 86_400_000, -86_400_000, 951_782_400_999,
                               -62_135_596_800_000, -62_135_596_800_001, 253_402_300_799_999, 253_402_300_800_000,
                               4_102_444_800_000, -2_208_988_800_000, 1_000_000_000_000_000, -1_000_000_000_000_000]
        for _ in 0..<20_000 {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            values.append(Int64(truncatingIfNeeded: state) % 400_000_000_000_000)
        }
        for value in values {
            #expect(RFC3339.format(milliseconds: value) == Self.mainFormat(value), "\(value)")
        }
    }

    /// main's `RFC3339.write`, digit by digit, with its own civil date.
    static func mainFormat(_ milliseconds: Int64) -> String {
        func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 { value >= 0 ? value / divisor : (value - divisor + 1) / divisor }
        let days = floorDivide(milliseconds, 86_400_000)
        let msOfDay = milliseconds - days * 86_400_000
        let z = days + 719_468
        let era = floorDivide(z, 146_097)
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        var text = ""
        func put(_ value: Int64, _ width: Int, _ separator: String) {
            var digits = ""
            var rest = value
            for _ in 0..<width { digits = String(rest % 10) + digits; rest /= 10 }
            text += digits + separator
        }
        if (0...9_999).contains(year) { put(year, 4, "-") } else { text += "\(year)-" }
        put(month, 2, "-"); put(day, 2, "T"); put(msOfDay / 3_600_000, 2, ":"); put(msOfDay / 60_000 % 60, 2, ":")
        put(msOfDay / 1_000 % 60, 2, "."); put(msOfDay % 1_000, 3, "Z")
        return text
    }
}
