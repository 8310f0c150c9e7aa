/// The fields of an acquire's body (`POST /locks/{name}`), in the order the
/// unknown-field message lists them.
enum AcquireField: Int, RequestField {
    case ttlMs, waitMs, owner, token, limit, mode, durability, lockDelayMs

    var name: StaticString {
        switch self {
        case .ttlMs: "ttl_ms"
        case .waitMs: "wait_ms"
        case .owner: "owner"
        case .token: "token"
        case .limit: "limit"
        case .mode: "mode"
        case .durability: "durability"
        case .lockDelayMs: "lock_delay_ms"
        }
    }
}

/// The fields of a renewal's body (`POST /locks/{name}/renew`).
enum RenewField: Int, RequestField {
    case ttlMs, durability

    var name: StaticString {
        switch self {
        case .ttlMs: "ttl_ms"
        case .durability: "durability"
        }
    }
}
