public import Foundation
import OpenAPIRuntime

/// Something that happened to one lease on a watched name: what
/// ``LockEvents/Element/event(_:)`` carries in ``LockClient/events(prefix:)``.
/// Never carries a token.
///
/// ```swift
/// for try await case .event(let event) in locks.events(prefix: "orders:") where event.kind == .expired {
///     print("\(event.name) fence \(event.fence) expired: its holder stopped renewing")
/// }
/// ```
public struct LockEvent: Sendable, Hashable {
    /// What happened.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// A lease was granted.
        case acquired
        /// A lease was extended (a renewal, or a retried acquire).
        case renewed
        /// The holder released the lease.
        case released
        /// The lease ran out without being released.
        case expired
        /// An administrator ended the lease (force-release by fence).
        case lost
    }

    /// What happened.
    public var kind: Kind
    /// The event's id on the lockd that sent it (the SSE `id:`,
    /// `EPOCH-SEQUENCE`: the sequence increases within one lockd process).
    public var id: String?
    /// The lock.
    public var name: String
    /// The lease's fence: with ``name``, which lease this is.
    public var fence: Int64
    /// The holder's owner label, if it gave one.
    public var owner: String?
    /// The authenticated client that took the lease, when lockd knows it.
    public var client: String?
    /// How the lease held its lock.
    public var mode: LockMode
    /// When it happened (the store's clock where it says).
    public var at: Date
    /// For ``Kind/acquired`` and ``Kind/renewed``: when the lease now expires.
    public var expiresAt: Date?

    /// Creates an event value (lockd's stream makes them; tests may too).
    public init(kind: Kind, id: String? = nil, name: String, fence: Int64, owner: String? = nil, client: String? = nil,
                mode: LockMode = .exclusive, at: Date, expiresAt: Date? = nil) {
        self.kind = kind
        self.id = id
        self.name = name
        self.fence = fence
        self.owner = owner
        self.client = client
        self.mode = mode
        self.at = at
        self.expiresAt = expiresAt
    }

    init(kind: Kind, id: String?, _ wire: Components.Schemas.LockEvent) {
        self.init(kind: kind, id: id, name: wire.name, fence: wire.fence, owner: wire.owner, client: wire.client,
                  mode: LockMode(wire.mode), at: wire.at, expiresAt: wire.expiresAt)
    }

    /// The event an SSE event of lockd's stream carries; nil for one of
    /// another kind or with data this SDK cannot read.
    init?(_ event: ServerSentEvent) {
        guard let kind = event.event.flatMap(Kind.init(rawValue:)), let data = event.data,
              let wire = try? Self.decoder.decode(Components.Schemas.LockEvent.self, from: Data(data.utf8)) else { return nil }
        self.init(kind: kind, id: event.id, wire)
    }

    private static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            try RFC3339DateTranscoder().decode(try decoder.singleValueContainer().decode(String.self))
        }
        return decoder
    }()
}
