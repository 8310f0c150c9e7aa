import LockdRedis

/// Where lockd instances record that they are alive, for a given lock name.
///
/// Every script that may drop a dead waiter reads the instances key, so the
/// key must be one the script can declare in `KEYS` next to the name's own
/// keys. On a single server one key serves every name. In a Redis Cluster a
/// script may only touch keys of one slot, so there is one instances key per
/// slot, `lockd:{TAG}:instances`, whose hash tag `TAG` is a short string
/// chosen to hash to that slot; a name's scripts use the key of the name's
/// own slot. An instance beats every key it has waiters under: one on a
/// single server, at most one per slot in a cluster.
///
/// ```swift
/// let keys = RedisLivenessKeys.perSlot
/// keys.key(for: try LockName("orders"))   // "lockd:{…}:instances", in the slot of "{orders}"
/// ```
public enum RedisLivenessKeys: Sendable {
    /// One key for every name: a single Redis server (or Sentinel).
    case shared
    /// One key per Cluster slot, in the slot of the names it serves.
    case perSlot

    /// The keys `deployment` needs: one per slot in a Redis Cluster, else one.
    public init(for deployment: RedisDeployment) {
        if case .cluster = deployment { self = .perSlot } else { self = .shared }
    }

    /// The instances key that scripts on `name` use.
    public func key(for name: LockName) -> String {
        switch self {
        case .shared: "lockd:instances"
        // A name's keys hash by their tag `{name}`, that is by the name.
        case .perSlot: "lockd:{\(RedisHashSlot(key: name.value).hashTag)}:instances"
        }
    }

    /// The most bytes ``key(for:)`` has, for any name: room to write one
    /// without making it first.
    public var maxKeyLength: Int {
        switch self {
        case .shared: "lockd:instances".utf8.count
        case .perSlot: "lockd:{}:instances".utf8.count + RedisHashSlot.maxHashTagLength
        }
    }

    /// The distinct keys that `names` use.
    public func keys(for names: some Sequence<LockName>) -> Set<String> {
        switch self {
        case .shared: ["lockd:instances"]
        case .perSlot: Set(names.map(key(for:)))
        }
    }
}
