@testable import LockdAPI
import LockEngine
import LockdJSON
import Testing

/// A body's fields are each found in the slot the one pass over its members
/// filled, whatever their order and count.
@Suite struct RequestBodyTests {
    @Test func everyAcquireFieldIsReadFromItsSlotWhateverTheOrder() throws {
        // The eight fields sent in reverse slot order: the last member's index (7) is the map's largest.
        try RequestBody<AcquireField>.read(Array(#"""
            {"lock_delay_ms":5,"durability":"replicated","mode":"shared","limit":1,
             "token":"tok","owner":"me","wait_ms":250,"ttl_ms":1500}
            """#.utf8)) { (body) throws(LockError) in
            #expect(try body.integer(.ttlMs) == 1500)
            #expect(try body.integer(.waitMs) == 250)
            #expect(try body.string(.owner) == "me")
            #expect(try body.string(.token) == "tok")
            let (limit, mode) = try body.limitAndMode(limit: .limit, mode: .mode)
            #expect(limit == 1 && mode == .shared)
            #expect(try body.durability(.durability) == .replicated)
            #expect(try body.integer(.lockDelayMs) == 5)
        }
    }

    @Test func absentFieldsAreNilAndABlankBodyIsEmpty() throws {
        try RequestBody<AcquireField>.read(Array(#"{"owner":"me"}"#.utf8)) { (body) throws(LockError) in
            #expect(try body.integer(.ttlMs) == nil)
            #expect(try body.string(.token) == nil)
            #expect(try body.string(.owner) == "me")
        }
        try RequestBody<RenewField>.read(Array(" \r\n".utf8)) { (blank) throws(LockError) in
            #expect(try blank.integer(.ttlMs) == nil)
            #expect(try blank.durability(.durability) == nil)
        }
    }

    /// Which bodies hold no field but the TTL (an acquire then takes every
    /// other default without asking): flat or read by the parser, empty or
    /// blank, and not when any other field is there, even null or first.
    @Test(arguments: [
        ("", true), (" ", true), ("{}", true), (#"{"ttl_ms":1000}"#, true), (#" { "ttl_ms" : 1000 } "#, true),
        (#"{"ttl_ms":1e3}"#, true), (#"{"ttl_ms":"x"}"#, true), (#"{"ttl_ms":1000,"owner":"me"}"#, false),
        (#"{"owner":"me","ttl_ms":1000}"#, false), (#"{"wait_ms":0}"#, false), (#"{"lock_delay_ms":null}"#, false),
        (#"{"owner":"\u00e9"}"#, false), (#"{"ttl_ms":1e3,"limit":1}"#, false), (#"{"limit":1.0}"#, false),
    ])
    func aBodyOfOnlyTheTTLIsToldApart(_ text: String, _ onlyTTL: Bool) throws {
        let found = try RequestBody<AcquireField>.read(Array(text.utf8)) { body in body.hasNoField(but: .ttlMs) }
        #expect(found == onlyTTL)
    }

    @Test func aFieldOfAnotherBodyIsUnknown() {
        #expect(throws: LockError.invalidRequest("unknown field 'owner'; allowed fields: ttl_ms, durability")) {
            try RequestBody<RenewField>.read(Array(#"{"ttl_ms":1000,"owner":"me"}"#.utf8)) { _ in }
        }
    }
}

/// A body scanned flat reads as the parser reads it, and one that is not
/// flat is left to the parser (whose values and errors are the reference).
@Suite struct FlatJSONMembersTests {
    /// Each field's kind and text (a string's inside its quotes) from the
    /// flat scan and from `JSONParser` are the same.
    @Test(arguments: [
        #"{"ttl_ms":1000}"#, #"{}"#, " { \"ttl_ms\" :\t30000 ,\r\n \"owner\" : \"me\" } \n",
        #"{"ttl_ms":-0,"wait_ms":-250,"limit":0,"lock_delay_ms":999999999999999999}"#,
        #"{"owner":"","token":"abcdefghijklmnopqrstuvwxyz012345","mode":"shared","durability":"primary"}"#,
        #"{"ttl_ms":true,"wait_ms":false,"owner":null,"limit":"4"}"#,
    ])
    func readsAsTheParserReads(_ text: String) throws {
        let bytes = Array(text.utf8)
        let flat = try #require(bytes.withUnsafeBufferPointer { FlatJSONMembers<AcquireField>($0) })
        guard case .object(let members) = try JSONParser.parse(bytes) else { Issue.record("not an object"); return }
        var slot = 0
        while let field = AcquireField(rawValue: slot) {
            slot += 1
            let parsed = members.first { $0.name == "\(field.name)" }?.value
            let kind = flat.kind(of: field)
            #expect(kind?.typeName == parsed?.typeName, "\(field.name)")
            let scanned = kind.map { _ in String(decoding: bytes[flat.range(of: field)], as: UTF8.self) }
            switch parsed {
            case .string(let value)?: #expect(scanned == value)
            case .number(let value)?:
                #expect(scanned == value)
                let integer = bytes.withUnsafeBufferPointer { FlatJSONMembers<AcquireField>.integer(flat.range(of: field), of: $0) }
                #expect(integer == Int64(value))
            default: break
            }
        }
    }

    @Test(arguments: [
        #"{"owner":"a\"b"}"#, #"{"owner":"\u00e9"}"#, "{\"owner\":\"é\"}", #"{"ttl_ms":1e3}"#, #"{"ttl_ms":1000.0}"#,
        #"{"ttl_ms":1234567890123456789}"#, #"{"ttl_ms":01}"#, #"{"ttl_ms":-}"#, #"{"ttl_ms":1000,"ttl_ms":1000}"#,
        #"{"nope":1}"#, #"{"owner":{"a":1}}"#, #"{"owner":[]}"#, #"{"ttl_ms":1000}x"#, #"{"ttl_ms":1000,}"#,
        #"{"ttl_ms":1000"#, #"[1]"#, #"{"ttl_ms":nul}"#, #"{"ttl\u005fms":1}"#, "{\"owner\":\"a\tb\"}",
    ])
    func leavesAnythingElseToTheParser(_ text: String) {
        let flat = Array(text.utf8).withUnsafeBufferPointer { FlatJSONMembers<AcquireField>($0) }
        #expect(flat == nil)
    }

    /// What a flat body's wrong types answer: the parser's words.
    @Test func wrongTypesAreNamedAsTheParserNamesThem() throws {
        try RequestBody<AcquireField>.read(Array(#"{"ttl_ms":true,"owner":5,"wait_ms":null}"#.utf8)) { (body) throws(LockError) in
            #expect(throws: LockError.invalidRequest("ttl_ms must be an integer, not a boolean")) { try body.integer(.ttlMs) }
            #expect(throws: LockError.invalidRequest("owner must be a string, not a number")) { try body.string(.owner) }
            #expect(throws: LockError.invalidRequest("wait_ms must be an integer, not null")) { try body.integer(.waitMs) }
        }
        try RequestBody<AcquireField>.read(Array(#"{"ttl_ms":1e3,"owner":"a\"b","limit":2.5}"#.utf8)) { (parsed) throws(LockError) in
            #expect(try parsed.integer(.ttlMs) == 1_000)
            #expect(try parsed.string(.owner) == "a\"b")
            #expect(throws: LockError.invalidRequest("limit must be a whole number within range, not 2.5")) { try parsed.integer(.limit) }
        }
        #expect(throws: LockError.invalidRequest("field 'ttl_ms' appears more than once")) {
            try RequestBody<AcquireField>.read(Array(#"{"ttl_ms":1,"ttl_ms":2}"#.utf8)) { _ in }
        }
    }
}

/// `RequestField.named(_:)` (a `memcmp` of each name of the key's length)
/// against the obvious lookup, comparing the key with every field's name as
/// text: every name, and every name cut short, lengthened and changed at
/// each of its bytes, for both kinds of body.
@Suite struct FieldNameLookupTests {
    static func obvious<Field: RequestField>(_ key: [UInt8], _: Field.Type) -> Field? {
        var slot = 0
        while let field = Field(rawValue: slot) {
            if Array("\(field.name)".utf8) == key { return field }
            slot += 1
        }
        return nil
    }

    static func keys<Field: RequestField>(_: Field.Type) -> [[UInt8]] {
        var keys: [[UInt8]] = [[], Array("ttl".utf8), Array("TTL_MS".utf8), Array("ttl_ms ".utf8)]
        var slot = 0
        while let field = Field(rawValue: slot) {
            let name = Array("\(field.name)".utf8)
            keys += [name, Array(name.dropLast()), Array(name.dropFirst()), name + [UInt8(ascii: "s")], [UInt8(ascii: "_")] + name]
            for index in name.indices {
                for byte: UInt8 in [0, UInt8(ascii: "x"), name[index] ^ 0x20, name[index] &+ 1, 0xFF] where byte != name[index] {
                    var changed = name
                    changed[index] = byte
                    keys.append(changed)
                }
            }
            slot += 1
        }
        return keys
    }

    @Test func findsWhatComparingTheTextsFinds() {
        for key in Self.keys(AcquireField.self) + Self.keys(RenewField.self) {
            let acquire = key.withUnsafeBufferPointer { AcquireField.named($0) }
            #expect(acquire == Self.obvious(key, AcquireField.self), "\(String(decoding: key, as: UTF8.self))")
            let renew = key.withUnsafeBufferPointer { RenewField.named($0) }
            #expect(renew == Self.obvious(key, RenewField.self), "\(String(decoding: key, as: UTF8.self))")
        }
    }
}
