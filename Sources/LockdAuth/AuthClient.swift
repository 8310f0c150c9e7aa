import LockEngine

/// One client of the auth file: who it is, the digest of its secret, and
/// which actions it may take on which names.
///
/// A class, so that handing it to a request (as its identity) copies a
/// reference rather than the grants.
///
/// ```swift
/// if client.may(.lock, on: "billing:7") { … }
/// let readable = client.names(for: .read)   // what a listing shows it
/// ```
public final class AuthClient: Sendable, CustomStringConvertible {
    /// The client's id: shown on its leases (`client`), in logs and in metrics.
    public let id: String
    /// The digest of the client's secret.
    let digest: SHA256Digest
    /// The grants as the file wrote them.
    public let grants: [AuthGrant]
    /// For each action (by ``AuthAction`` order), the names it covers.
    private let namesByAction: [LockNameSet]

    /// Creates a client.
    public init(id: String, digest: SHA256Digest, grants: [AuthGrant]) {
        self.id = id
        self.digest = digest
        self.grants = grants
        self.namesByAction = AuthAction.allCases.map { action in
            LockNameSet(grants.filter { $0.actions.contains(action) }.flatMap(\.names))
        }
    }

    /// The names on which the client may take `action`.
    public func names(for action: AuthAction) -> LockNameSet {
        switch action {
        case .lock: namesByAction[0]
        case .read: namesByAction[1]
        case .admin: namesByAction[2]
        }
    }

    /// Whether the client may take `action` on `name` (as sent: see
    /// ``LockNamePattern/matches(_:)``).
    public func may(_ action: AuthAction, on name: String) -> Bool {
        names(for: action).contains(name)
    }

    /// The longest id: it appears in logs, metrics labels and holders.
    public static let maxIDLength = 128

    /// What an id may be, in words (for errors).
    public static let idRule = "must be 1 to \(maxIDLength) characters of A-Z a-z 0-9 . _ : @ -"

    /// Whether `id` may name a client: 1 to ``maxIDLength`` bytes of
    /// `A-Z a-z 0-9 . _ : @ -`, so it needs no quoting in a log line or a
    /// metrics label.
    public static func isValidID(_ id: String) -> Bool {
        (1...maxIDLength).contains(id.utf8.count) && id.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: ":"), UInt8(ascii: "@"), UInt8(ascii: "-"):
                true
            default:
                false
            }
        }
    }

    /// The id: never the digest.
    public var description: String { id }
}

/// One grant of the auth file: `actions` on every name `names` covers.
public struct AuthGrant: Sendable, Equatable {
    /// The names, as patterns.
    public var names: [LockNamePattern]
    /// What the client may do on them.
    public var actions: Set<AuthAction>

    /// Creates a grant.
    public init(names: [LockNamePattern], actions: Set<AuthAction>) {
        self.names = names
        self.actions = actions
    }
}
