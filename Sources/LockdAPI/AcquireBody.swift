import LockEngine

/// An acquire's body (`POST /locks/{name}`) read into its request in one
/// pass over the bytes: each member's key told by its first word, its value
/// read as the field's type wants it (an integer's digits summed as they
/// are passed, a string's place kept), and the request made from them —
/// no member collected first, no value or key made into a `String` but the
/// owner's, and no generic body.
///
/// The pass takes any body ``FlatJSONMembers`` takes whose every member has
/// its field's type and a valid value: a flat object of known fields, each
/// once, in any order, with any JSON whitespace; integers of at most 18
/// digits; strings of printable ASCII without escapes; a `mode`,
/// `durability` and `token` the request accepts. Anything else — a body
/// that is not JSON, a field of the wrong type, an escape, a fraction, an
/// unknown or repeated field, a bad mode — is read again by
/// ``byFields(_:name:defaultTTLMs:client:waitMs:)``, field by field through
/// ``RequestBody``, whose answers (errors and their order included) stay
/// the reference: the pass only ever answers what it would.
///
/// Read through ``RequestBody`` (``FlatJSONMembers``' slots, then each
/// field asked), `{"ttl_ms":30000}` cost ~0.49 k instructions an acquire
/// (the reading 0.31 k, the closure asking the fields 0.14 k, the generic
/// body's destroy 44); in one pass, ~0.29 k.
enum AcquireBody {
    /// The acquire `body` asks for on `name`; `waitMs` is set as soon as
    /// it is read, for the answer to a later failure.
    ///
    /// The name and client are taken, and moved into the request: lent,
    /// each was retained for it and released after (~60 instructions an
    /// acquire).
    /// - Throws: ``LockError/invalidRequest(_:)`` as
    ///   ``byFields(_:name:defaultTTLMs:client:waitMs:)`` throws it.
    static func request(_ body: [UInt8], name: consuming LockName, defaultTTLMs: Int64, client: consuming String?,
                        waitMs: inout Int64) throws(LockError) -> AcquireRequest {
        guard let members = body.withUnsafeBufferPointer({ Members($0, defaultTTLMs: defaultTTLMs) }) else {
            return try byFields(body, name: name, defaultTTLMs: defaultTTLMs, client: client, waitMs: &waitMs)
        }
        // The token checked last: every other field has been read as the
        // reading by fields reads it, and that reading answers a bad token.
        var token: LeaseToken?
        if members.token.count >= 0 {
            guard let checked = body.withUnsafeBufferPointer({ Members.token(members.token, in: $0) }) else {
                return try byFields(body, name: name, defaultTTLMs: defaultTTLMs, client: client, waitMs: &waitMs)
            }
            token = checked
        }
        waitMs = members.waitMs
        return AcquireRequest(name: name, ttlMs: members.ttlMs, waitMs: members.waitMs,
                              owner: members.owner.count < 0 ? nil : body.withUnsafeBufferPointer { Members.owner(members.owner, in: $0) },
                              token: token, limit: Int(members.limit), mode: members.mode, client: client,
                              durability: members.durability, lockDelayMs: members.lockDelayMs)
    }

    /// The acquire `body` asks for, read as ``RequestBody`` reads it: every
    /// body the one pass leaves, and the reference it is tested against.
    /// Never inlined: only bodies the pass leaves come here (most of them
    /// answered 400).
    /// - Throws: ``LockError/invalidRequest(_:)`` for malformed JSON, a
    ///   non-object, an unknown or repeated field, a field of the wrong
    ///   type or out of range, a bad `mode`, `durability` or `token` — the
    ///   first in the order read below.
    @inline(never)
    static func byFields(_ body: [UInt8], name: LockName, defaultTTLMs: Int64, client: String?,
                         waitMs: inout Int64) throws(LockError) -> AcquireRequest {
        try RequestBody<AcquireField>.read(body) { (body) throws(LockError) in
            // The body nearly every client sends names at most the TTL:
            // every other field is then its default, as read below when
            // absent, without asking for each.
            if body.hasNoField(but: .ttlMs) {
                return AcquireRequest(name: name, ttlMs: try body.integer(.ttlMs) ?? defaultTTLMs, client: client)
            }
            let (limit, mode) = try body.limitAndMode(limit: .limit, mode: .mode)
            waitMs = try body.integer(.waitMs) ?? 0
            return AcquireRequest(
                name: name,
                ttlMs: try body.integer(.ttlMs) ?? defaultTTLMs,
                waitMs: waitMs,
                owner: try body.string(.owner),
                token: try body.string(.token).map { (text: String) throws(LockError) in try LeaseToken(text) },
                limit: limit,
                mode: mode,
                client: client,
                durability: try body.durability(.durability),
                lockDelayMs: try body.integer(.lockDelayMs) ?? 0
            )
        }
    }
}
