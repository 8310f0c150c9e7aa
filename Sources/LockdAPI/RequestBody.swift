import LockEngine
import LockdJSON

/// Reads a request body as a JSON object of known fields, whatever its
/// `Content-Type` says (curl's `-d` labels JSON as a form).
struct RequestBody {
    /// The members in the order sent: a body has a handful, so a linear
    /// search beats hashing each key (and allocating a dictionary).
    private var fields: [JSONMember]

    /// Parses `bytes`; an empty or blank body is an empty object.
    /// - Throws: ``LockError/invalidRequest(_:)`` for malformed JSON, a
    ///   non-object, a repeated or unknown field.
    init(_ bytes: [UInt8], allowed: [String]) throws(LockError) {
        guard bytes.contains(where: { !($0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D) }) else {
            fields = []
            return
        }
        let document: JSONValue
        do {
            document = try JSONParser.parse(bytes)
        } catch {
            throw .invalidRequest("body is not valid JSON: \(error.reason) at byte \(error.offset)")
        }
        guard case .object(let members) = document else {
            throw .invalidRequest("body must be a JSON object, not \(document.typeName)")
        }
        // The parser's members kept as they are (no second array).
        for (index, member) in members.enumerated() {
            let key = member.name
            guard allowed.contains(key) else {
                throw .invalidRequest("unknown field '\(key)'; allowed fields: \(allowed.joined(separator: ", "))")
            }
            guard !members[..<index].contains(where: { $0.name == key }) else {
                throw .invalidRequest("field '\(key)' appears more than once")
            }
        }
        self.fields = members
    }

    private func value(of key: String) -> JSONValue? {
        fields.first { $0.name == key }?.value
    }

    /// An integer field (absent: nil).
    /// - Throws: ``LockError/invalidRequest(_:)`` for another type (null
    ///   included: leave a field out to get its default) or a fraction.
    func integer(_ key: String) throws(LockError) -> Int64? {
        guard let value = value(of: key) else { return nil }
        guard case .number(let text) = value else {
            throw .invalidRequest("\(key) must be an integer, not \(value.typeName)")
        }
        if let exact = Int64(text) { return exact }
        // 1e3 and 1000.0 are integers written another way; 1.5 is not.
        guard let approximate = Double(text), approximate.rounded() == approximate,
              abs(approximate) < 9_007_199_254_740_992
        else { throw .invalidRequest("\(key) must be a whole number within range, not \(text)") }
        return Int64(approximate)
    }

    /// A string field (absent: nil).
    /// - Throws: ``LockError/invalidRequest(_:)`` for another type, null included.
    func string(_ key: String) throws(LockError) -> String? {
        guard let value = value(of: key) else { return nil }
        guard case .string(let text) = value else {
            throw .invalidRequest("\(key) must be a string, not \(value.typeName)")
        }
        return text
    }

    /// The body's `durability`; nil when absent (the server's default).
    /// - Throws: ``LockError/invalidRequest(_:)`` for anything but
    ///   `primary` and `replicated`.
    func durability() throws(LockError) -> Durability? {
        guard let text = try string("durability") else { return nil }
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
    func limitAndMode() throws(LockError) -> (limit: Int, mode: LockMode) {
        let limit = Int(try integer("limit") ?? 1)
        guard let text = try string("mode") else { return (limit, .exclusive) }
        guard let mode = LockMode(rawValue: text) else {
            throw .invalidRequest("mode must be \"exclusive\" or \"shared\", not \"\(text.prefix(40))\"")
        }
        return (limit, mode)
    }
}
