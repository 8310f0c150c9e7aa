/// Something that happened to one lease, as event streams (`GET /events`)
/// report it: never its token.
///
/// ```swift
/// let event = LockEvent(.acquired, name: lease.name, fence: lease.fence, owner: lease.owner, client: nil,
///                       mode: lease.mode, atMs: lease.expiresAtMs - lease.ttlMs, expiresAtMs: lease.expiresAtMs)
/// ```
public struct LockEvent: Sendable, Hashable {
    /// What happened.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// A lease was granted.
        case acquired
        /// A lease was extended (a renewal, or a retried acquire).
        case renewed
        /// The holder gave the lease back.
        case released
        /// The lease ran out.
        case expired
        /// An administrator ended the lease (force-release by fence).
        case lost
    }

    /// What happened.
    public var kind: Kind
    /// The lock.
    public var name: LockName
    /// The lease's fence: with `name`, which lease this is.
    public var fence: Int64
    /// The holder's label, if any.
    public var owner: String?
    /// The authenticated client that took the lease, when known.
    public var client: String?
    /// How the lease held its name.
    public var mode: LockMode
    /// When it happened, in milliseconds since the Unix epoch (the store's
    /// clock where the store says, else lockd's).
    public var atMs: Int64
    /// For `acquired` and `renewed`: when the lease now expires.
    public var expiresAtMs: Int64?

    /// Creates an event.
    public init(_ kind: Kind, name: LockName, fence: Int64, owner: String?, client: String?, mode: LockMode, atMs: Int64,
                expiresAtMs: Int64? = nil) {
        self.kind = kind
        self.name = name
        self.fence = fence
        self.owner = owner
        self.client = client
        self.mode = mode
        self.atMs = atMs
        self.expiresAtMs = expiresAtMs
    }

    /// The event `kind` of `lease`, as the store granted or renewed it.
    init(_ kind: Kind, lease: Lease, client: String?) {
        self.init(kind, name: lease.name, fence: lease.fence, owner: lease.owner, client: client, mode: lease.mode,
                  atMs: lease.expiresAtMs - lease.ttlMs, expiresAtMs: lease.expiresAtMs)
    }

    /// The event `kind` that ended `holder`'s lease at `atMs`.
    init(_ kind: Kind, name: LockName, holder: Holder, atMs: Int64) {
        self.init(kind, name: name, fence: holder.fence, owner: holder.owner, client: holder.client, mode: holder.mode, atMs: atMs)
    }

    /// Milliseconds the lease had left when the event happened (acquired,
    /// renewed): what a watcher's expiry timer waits, whatever its own clock.
    var remainingMs: Int64? { expiresAtMs.map { $0 - atMs } }
}

extension LockEvent {
    /// The event as one message between lockd instances:
    /// `kind\nname\nfence\nmode\nat\nexpires\nclient\nowner` (the owner,
    /// which may hold anything, last; an absent value empty).
    var message: String {
        let mode = mode == .shared ? "s" : "x"
        let expires = expiresAtMs.map(String.init) ?? ""
        return "\(kind.rawValue)\n\(name.value)\n\(fence)\n\(mode)\n\(atMs)\n\(expires)\n\(client ?? "")\n\(owner ?? "")"
    }

    /// Parses ``message``; nil for anything else.
    init?(message: String) {
        let parts = message.utf8.split(separator: UInt8(ascii: "\n"), maxSplits: 7, omittingEmptySubsequences: false)
            .map { String(decoding: $0, as: UTF8.self) }
        guard parts.count == 8, let kind = Kind(rawValue: parts[0]), let name = try? LockName(parts[1]),
              let fence = Int64(parts[2]), let atMs = Int64(parts[4]) else { return nil }
        let mode: LockMode
        switch parts[3] {
        case "x": mode = .exclusive
        case "s": mode = .shared
        default: return nil
        }
        self.init(kind, name: name, fence: fence, owner: parts[7].isEmpty ? nil : parts[7],
                  client: parts[6].isEmpty ? nil : parts[6], mode: mode, atMs: atMs,
                  expiresAtMs: parts[5].isEmpty ? nil : Int64(parts[5]))
    }
}
