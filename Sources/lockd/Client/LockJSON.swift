import Foundation
import LockdClient

/// What the JSON subcommands print: lockd's own field names and formats
/// (`ttl_ms`, `expires_at` in RFC 3339 UTC with milliseconds), so that a
/// script reads `lockd acquire` as it would read curl.
enum LockJSON {
    /// A lease: `{name, token, fence, ttl_ms, expires_at, owner?, mode, limit}`.
    struct Lease: Encodable {
        let name: String
        let token: String
        let fence: Int64
        let ttlMs: Int64
        let expiresAt: String
        let owner: String?
        let mode: String
        let limit: Int

        init(_ lease: LockdClient.Lease) {
            name = lease.name
            token = lease.token
            fence = lease.fence
            ttlMs = DurationText.milliseconds(lease.ttl)
            expiresAt = LockJSON.timestamp(lease.expiresAt)
            owner = lease.owner
            mode = lease.mode.rawValue
            limit = lease.limit
        }

        enum CodingKeys: String, CodingKey {
            case name, token, fence, owner, mode, limit
            case ttlMs = "ttl_ms"
            case expiresAt = "expires_at"
        }
    }

    /// A lock's status: `{name, held, mode?, limit, waiting, holders: [Holder], delayed_until?}`, no tokens.
    struct Status: Encodable {
        let name: String
        let held: Bool
        let mode: String?
        let limit: Int
        let waiting: Int
        let holders: [Holder]
        let delayedUntil: String?

        enum CodingKeys: String, CodingKey {
            case name, held, mode, limit, waiting, holders
            case delayedUntil = "delayed_until"
        }

        init(_ status: LockStatus) {
            name = status.name
            held = status.isHeld
            mode = status.mode?.rawValue
            limit = status.limit
            waiting = status.waiting
            holders = status.holders.map(Holder.init)
            delayedUntil = status.delayedUntil.map(LockJSON.timestamp)
        }
    }

    /// One holder: `{owner?, client?, mode, fence, expires_at, ttl_ms}`;
    /// `ttl_ms` is what remained when lockd answered.
    struct Holder: Encodable {
        let owner: String?
        let client: String?
        let mode: String
        let fence: Int64
        let expiresAt: String
        let ttlMs: Int64

        init(_ holder: LockHolder) {
            owner = holder.owner
            client = holder.client
            mode = holder.mode.rawValue
            fence = holder.fence
            expiresAt = LockJSON.timestamp(holder.expiresAt)
            ttlMs = DurationText.milliseconds(holder.remaining)
        }

        enum CodingKeys: String, CodingKey {
            case owner, client, mode, fence
            case expiresAt = "expires_at"
            case ttlMs = "ttl_ms"
        }
    }

    /// Every held lock: `{locks: [Status]}`.
    struct List: Encodable {
        let locks: [Status]
    }

    /// A release: `{name, released: true}`.
    struct Released: Encodable {
        let name: String
        let released = true
    }

    static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}
