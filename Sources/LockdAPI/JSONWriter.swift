import LockEngine
import LockdHTTP

/// Builds the JSON bodies lockd sends, field by field, without reflection.
struct JSONWriter {
    private(set) var text = "{"
    private var isFirst = true

    /// Adds `"key":"value"` (escaped).
    mutating func field(_ key: String, _ value: String) {
        name(key)
        JSONString.append(value, to: &text)
    }

    /// Adds `"key":value` for a number.
    mutating func field(_ key: String, _ value: Int64) {
        name(key)
        text += String(value)
    }

    /// Adds `"key":true|false`.
    mutating func field(_ key: String, _ value: Bool) {
        name(key)
        text += value ? "true" : "false"
    }

    /// Adds `"key":null`.
    mutating func null(_ key: String) {
        name(key)
        text += "null"
    }

    /// Adds `"key":` followed by already-encoded JSON.
    mutating func raw(_ key: String, _ json: String) {
        name(key)
        text += json
    }

    /// The finished object.
    var bytes: [UInt8] { Array((text + "}").utf8) }

    /// The finished object as text.
    var finished: String { text + "}" }

    private mutating func name(_ key: String) {
        if !isFirst { text += "," }
        isFirst = false
        JSONString.append(key, to: &text)
        text += ":"
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
        json.field("expires_at", RFC3339.format(milliseconds: lease.expiresAtMs))
        if let owner = lease.owner { json.field("owner", owner) }
        json.field("mode", lease.mode.rawValue)
        json.field("limit", Int64(lease.limit))
        return json.bytes
    }

    static func holder(_ holder: Holder) -> String {
        var json = JSONWriter()
        if let owner = holder.owner { json.field("owner", owner) }
        if let client = holder.client { json.field("client", client) }
        json.field("mode", holder.mode.rawValue)
        json.field("fence", holder.fence)
        json.field("expires_at", RFC3339.format(milliseconds: holder.expiresAtMs))
        json.field("ttl_ms", holder.remainingMs)
        return json.finished
    }

    static func holders(_ holders: [Holder]) -> String {
        "[" + holders.map(holder).joined(separator: ",") + "]"
    }

    static func status(_ status: LockStatus) -> String {
        var json = JSONWriter()
        json.field("name", status.name.value)
        json.field("held", status.isHeld)
        if let mode = status.mode { json.field("mode", mode.rawValue) }
        json.field("limit", Int64(status.limit))
        json.raw("holders", holders(status.holders))
        json.field("waiting", Int64(status.waiting))
        return json.finished
    }

    static func page(_ page: LockPage) -> [UInt8] {
        var json = JSONWriter()
        json.raw("locks", "[" + page.locks.map(status).joined(separator: ",") + "]")
        if let cursor = page.nextCursor {
            json.field("next_cursor", cursor)
        } else {
            json.null("next_cursor")
        }
        return json.bytes
    }
}
