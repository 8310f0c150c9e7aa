import LockEngine
import LockdHTTP

/// Builds the JSON bodies lockd sends, field by field, without reflection,
/// as UTF-8 bytes: a body is written straight into the array that becomes
/// the response (building a `String` scalar by scalar cost a lease ~20 000
/// instructions).
struct JSONWriter {
    private var buffer: [UInt8]
    private var isFirst = true

    init() {
        buffer = []
        buffer.reserveCapacity(192)
        buffer.append(UInt8(ascii: "{"))
    }

    /// Adds `"key":"value"` (escaped).
    mutating func field(_ key: StaticString, _ value: String) {
        name(key)
        JSONString.append(value, to: &buffer)
    }

    /// Adds `"key":"instant"` in RFC 3339 (milliseconds since the Unix epoch).
    mutating func instant(_ key: StaticString, milliseconds: Int64) {
        name(key)
        buffer.append(UInt8(ascii: "\""))
        RFC3339.append(milliseconds: milliseconds, to: &buffer)
        buffer.append(UInt8(ascii: "\""))
    }

    /// Adds `"key":value` for a number.
    mutating func field(_ key: StaticString, _ value: Int64) {
        name(key)
        ASCIIDigits.append(value, to: &buffer)
    }

    /// Adds `"key":true|false`.
    mutating func field(_ key: StaticString, _ value: Bool) {
        name(key)
        buffer += value ? Self.trueLiteral : Self.falseLiteral
    }

    /// Adds `"key":null`.
    mutating func null(_ key: StaticString) {
        name(key)
        buffer += Self.nullLiteral
    }

    /// Adds `"key":` followed by already-encoded JSON.
    mutating func raw(_ key: StaticString, _ json: String) {
        name(key)
        buffer += json.utf8
    }

    /// Adds `"key":` followed by already-encoded JSON bytes.
    mutating func raw(_ key: StaticString, _ json: [UInt8]) {
        name(key)
        buffer += json
    }

    /// Closes the object and hands over its bytes; the writer is not to be used after.
    mutating func finish() -> [UInt8] {
        buffer.append(UInt8(ascii: "}"))
        return buffer
    }

    /// The finished object (a copy; ``finish()`` avoids it).
    var bytes: [UInt8] { buffer + [UInt8(ascii: "}")] }

    private static let trueLiteral = Array("true".utf8)
    private static let falseLiteral = Array("false".utf8)
    private static let nullLiteral = Array("null".utf8)

    /// Keys are literals that need no escaping: their bytes are copied as
    /// they are (escaping them cost a lease ~2 500 instructions).
    private mutating func name(_ key: StaticString) {
        if !isFirst { buffer.append(UInt8(ascii: ",")) }
        isFirst = false
        buffer.append(UInt8(ascii: "\""))
        buffer.append(contentsOf: UnsafeBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount))
        buffer.append(UInt8(ascii: "\""))
        buffer.append(UInt8(ascii: ":"))
    }
}

/// The JSON shapes of PRODUCT.md's Lease, Holder, LockStatus and LockList.
enum LockJSON {
    static func lease(_ lease: Lease) -> [UInt8] {
        var json = JSONWriter()
        json.field("name", lease.name.value)
        json.field("token", lease.token.value)
        json.field("fence", lease.fence)
        json.field("ttl_ms", lease.ttlMs)
        json.instant("expires_at", milliseconds: lease.expiresAtMs)
        if let owner = lease.owner { json.field("owner", owner) }
        json.field("mode", lease.mode.rawValue)
        json.field("limit", Int64(lease.limit))
        return json.finish()
    }

    static func holder(_ holder: Holder) -> [UInt8] {
        var json = JSONWriter()
        if let owner = holder.owner { json.field("owner", owner) }
        if let client = holder.client { json.field("client", client) }
        json.field("mode", holder.mode.rawValue)
        json.field("fence", holder.fence)
        json.instant("expires_at", milliseconds: holder.expiresAtMs)
        json.field("ttl_ms", holder.remainingMs)
        return json.finish()
    }

    static func holders(_ holders: [Holder]) -> [UInt8] {
        var array: [UInt8] = [UInt8(ascii: "[")]
        for (index, holder) in holders.enumerated() {
            if index > 0 { array.append(UInt8(ascii: ",")) }
            array += Self.holder(holder)
        }
        array.append(UInt8(ascii: "]"))
        return array
    }

    static func status(_ status: LockStatus) -> [UInt8] {
        var json = JSONWriter()
        json.field("name", status.name.value)
        json.field("held", status.isHeld)
        if let mode = status.mode { json.field("mode", mode.rawValue) }
        json.field("limit", Int64(status.limit))
        json.raw("holders", holders(status.holders))
        json.field("waiting", Int64(status.waiting))
        if let delayedUntil = status.delayedUntilMs { json.instant("delayed_until", milliseconds: delayedUntil) }
        return json.finish()
    }

    static func page(_ page: LockPage) -> [UInt8] {
        var locks: [UInt8] = [UInt8(ascii: "[")]
        for (index, status) in page.locks.enumerated() {
            if index > 0 { locks.append(UInt8(ascii: ",")) }
            locks += Self.status(status)
        }
        locks.append(UInt8(ascii: "]"))
        var json = JSONWriter()
        json.raw("locks", locks)
        if let cursor = page.nextCursor {
            json.field("next_cursor", cursor)
        } else {
            json.null("next_cursor")
        }
        return json.finish()
    }
}

extension LockJSON {
    /// An event's `data:`: `{name, fence, owner?, client?, mode, at, expires_at?}` — no token.
    static func event(_ event: LockEvent) -> [UInt8] {
        var json = JSONWriter()
        json.field("name", event.name.value)
        json.field("fence", event.fence)
        if let owner = event.owner { json.field("owner", owner) }
        if let client = event.client { json.field("client", client) }
        json.field("mode", event.mode.rawValue)
        json.instant("at", milliseconds: event.atMs)
        if let expiresAtMs = event.expiresAtMs { json.instant("expires_at", milliseconds: expiresAtMs) }
        return json.finish()
    }
}
