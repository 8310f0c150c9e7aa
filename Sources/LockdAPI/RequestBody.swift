import LockEngine
import LockdJSON

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The fields one kind of request body may hold: a case's raw value is its
/// slot (0, 1, … — at most eight), its ``name`` the JSON key.
protocol RequestField: RawRepresentable<Int> {
    /// The field's JSON key (a literal: compared with a body's keys in place).
    var name: StaticString { get }
}

extension RequestField {
    /// The field named `key`, or nil when the body has no such field.
    static func named(_ key: String) -> Self? {
        var key = key
        return key.withUTF8 { named($0) }
    }

    /// The field whose name is the bytes `key`, or nil.
    ///
    /// A name of the key's length is compared by `memcmp`: byte by byte,
    /// `elementsEqual` cost ~14 instructions a byte (~90 for `ttl_ms`, in
    /// every acquire's body).
    static func named(_ key: UnsafeBufferPointer<UInt8>) -> Self? {
        guard let bytes = key.baseAddress else { return nil }  // no field has an empty name
        var slot = 0
        while let field = Self(rawValue: slot) {
            let name = field.name
            if name.utf8CodeUnitCount == key.count, memcmp(name.utf8Start, bytes, key.count) == 0 {
                return field
            }
            slot += 1
        }
        return nil
    }

    /// Every field's key, in slot order (for the unknown-field message).
    static var names: String {
        var names: [String] = []
        var slot = 0
        while let field = Self(rawValue: slot) {
            names.append("\(field.name)")
            slot += 1
        }
        return names.joined(separator: ", ")
    }
}

/// Reads a request body as a JSON object of known fields, whatever its
/// `Content-Type` says (curl's `-d` labels JSON as a form).
///
/// A body is read in place, only inside ``read(_:_:)``'s closure, which
/// must not let it escape: it points into the request's bytes, which the
/// closure's caller keeps alive. Holding its own reference to the bytes, a
/// body retained them, and was destroyed through its generic type's value
/// witness after every request (~0.1 k instructions an acquire).
struct RequestBody<Field: RequestField> {
    /// The body as sent (the request's bytes, valid inside ``read(_:_:)``).
    private let bytes: UnsafeBufferPointer<UInt8>
    /// Its members, when it is a flat object (nearly always): found
    /// without making values (``FlatJSONMembers``); else none, and the
    /// parser's members below (``parsed``). Not optional: each field asked
    /// of a `FlatJSONMembers?` copied its 64 bytes out first (an acquire
    /// asks for eight).
    private var flat = FlatJSONMembers<Field>()
    /// Whether the parser read the body (not flat): its fields are in ``members``.
    private var parsed = false
    /// The members in the order sent (the parser's array, not a second one).
    private var members: [JSONMember] = []
    /// Which member each field is: byte `slot` holds the member's index + 1,
    /// 0 when absent. One pass over the members fills it, so a field is
    /// found without comparing keys again.
    private var memberBySlot: UInt64 = 0
}

extension RequestBody {
    /// Parses `bytes`; an empty or blank body is an empty object.
    ///
    /// Each way out hands the parts to the synthesized memberwise
    /// initializer: assigned field by field (`self.bytes = bytes`), the body
    /// was built in one place, then copied to the caller and destroyed
    /// (~0.17 k instructions a request; see ``AcquireRequest``'s initializer).
    /// - Throws: ``LockError/invalidRequest(_:)`` for malformed JSON, a
    ///   non-object, a repeated or unknown field.
    private init(_ bytes: UnsafeBufferPointer<UInt8>) throws(LockError) {
        guard bytes.contains(where: { !($0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D) }) else {
            self.init(bytes: bytes)
            return
        }
        if let flat = FlatJSONMembers<Field>(bytes) {
            self.init(bytes: bytes, flat: flat)
            return
        }
        let document: JSONValue
        do {
            document = try JSONParser.parse(Array(bytes))
        } catch {
            throw .invalidRequest("body is not valid JSON: \(error.reason) at byte \(error.offset)")
        }
        guard case .object(let members) = document else {
            throw .invalidRequest("body must be a JSON object, not \(document.typeName)")
        }
        // Each member is a distinct known field, so an index reaching the
        // map is below eight (at most eight fields) and fits its byte.
        var memberBySlot: UInt64 = 0
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
        self.init(bytes: bytes, parsed: true, members: members, memberBySlot: memberBySlot)
    }

    /// Parses `bytes` (``init(_:)``: an empty or blank body is an empty
    /// object) and hands the body to `read`, which must not keep it.
    /// - Throws: what parsing throws, or what `read` throws.
    static func read<Result>(_ bytes: [UInt8], _ read: (RequestBody) throws(LockError) -> Result) throws(LockError) -> Result {
        try bytes.withUnsafeBufferPointer { (bytes) throws(LockError) -> Result in try read(try RequestBody(bytes)) }
    }

    private func value(of field: Field) -> JSONValue? {
        let position = Int((memberBySlot >> UInt64(field.rawValue * 8)) & 0xFF)
        return position == 0 ? nil : members[position - 1].value
    }

    /// Whether the body has no field but `field` (or none at all).
    func hasNoField(but field: Field) -> Bool {
        parsed ? memberBySlot & ~(0xFF << UInt64(field.rawValue * 8)) == 0 : flat.present & ~(1 << UInt8(field.rawValue)) == 0
    }

    /// An integer field (absent: nil).
    /// - Throws: ``LockError/invalidRequest(_:)`` for another type (null
    ///   included: leave a field out to get its default) or a fraction.
    ///
    /// Inlined, with what is rare out of line (a body the scan left to the
    /// parser, a value of the wrong type): an acquire asks for eight fields,
    /// most of them absent, and each call set up the frame its error
    /// messages need (~0.3 k instructions an acquire).
    @inline(__always)
    func integer(_ field: Field) throws(LockError) -> Int64? {
        guard !parsed else { return try parsedInteger(field) }
        switch flat.kind(of: field) {
        case nil: return nil
        case .number?: return FlatJSONMembers<Field>.integer(flat.range(of: field), of: bytes)
        case let kind?: throw Self.wrongKind(field, kind, expected: "an integer")
        }
    }

    /// ``integer(_:)`` of a body the parser read.
    @inline(never)
    private func parsedInteger(_ field: Field) throws(LockError) -> Int64? {
        guard let value = value(of: field) else { return nil }
        guard case .number(let text) = value else {
            throw .invalidRequest("\(field.name) must be an integer, not \(value.typeName)")
        }
        if let exact = Int64(text) { return exact }
        // 1e3 and 1000.0 are integers written another way; 1.5 is not.
        guard let approximate = Double(text), approximate.rounded() == approximate,
              abs(approximate) < 9_007_199_254_740_992
        else { throw .invalidRequest("\(field.name) must be a whole number within range, not \(text)") }
        return Int64(approximate)
    }

    /// A string field (absent: nil).
    /// - Throws: ``LockError/invalidRequest(_:)`` for another type, null included.
    @inline(__always)
    func string(_ field: Field) throws(LockError) -> String? {
        guard !parsed else { return try parsedString(field) }
        switch flat.kind(of: field) {
        case nil: return nil
        case .string?:
            let range = flat.range(of: field)
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)
        case let kind?: throw Self.wrongKind(field, kind, expected: "a string")
        }
    }

    /// ``string(_:)`` of a body the parser read.
    @inline(never)
    private func parsedString(_ field: Field) throws(LockError) -> String? {
        guard let value = value(of: field) else { return nil }
        guard case .string(let text) = value else {
            throw .invalidRequest("\(field.name) must be a string, not \(value.typeName)")
        }
        return text
    }

    /// "`field` must be `expected`, not `kind`" (the parser's words for the kind).
    @inline(never)
    private static func wrongKind(_ field: Field, _ kind: FlatJSONMembers<Field>.Kind, expected: String) -> LockError {
        .invalidRequest("\(field.name) must be \(expected), not \(kind.typeName)")
    }

    /// The body's `durability` (in `field`); nil when absent (the server's default).
    /// - Throws: ``LockError/invalidRequest(_:)`` for anything but
    ///   `primary` and `replicated`.
    func durability(_ field: Field) throws(LockError) -> Durability? {
        guard let text = try string(field) else { return nil }
        guard let durability = Durability(rawValue: text) else {
            throw .invalidRequest("durability must be \"primary\" or \"replicated\", not \"\(text.prefix(40))\"")
        }
        return durability
    }

    /// The acquire body's `limit` (default 1) and `mode` (default
    /// `exclusive`); the engine checks the limit's range and that `shared`
    /// comes with limit 1.
    /// - Throws: ``LockError/invalidRequest(_:)`` for a limit that is no
    ///   integer, or a mode other than `exclusive` and `shared`.
    func limitAndMode(limit limitField: Field, mode modeField: Field) throws(LockError) -> (limit: Int, mode: LockMode) {
        let limit = Int(try integer(limitField) ?? 1)
        guard let text = try string(modeField) else { return (limit, .exclusive) }
        guard let mode = LockMode(rawValue: text) else {
            throw .invalidRequest("mode must be \"exclusive\" or \"shared\", not \"\(text.prefix(40))\"")
        }
        return (limit, mode)
    }
}
