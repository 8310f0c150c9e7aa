import LockdRedis

/// Where the scripts announce queue changes, and what each lockd instance
/// subscribes to in order to hear them (see ``RedisLockScripts``).
///
/// On one server (or behind Sentinel) one classic channel carries every
/// announcement: `PUBLISH lockd:waiting`, which any Redis serves. In a Redis
/// Cluster a classic `PUBLISH` is broadcast to every node over the cluster
/// bus, so there announcements are sharded instead (Redis 7): `SPUBLISH` on
/// `lockd:wake:{TAG}`, the channel of the name's own slot (a script may only
/// touch its keys' slot, shard channels included), and each instance
/// subscribes to the 16 384 slot channels with `SSUBSCRIBE` on the master of
/// each slot — subscribed again where a slot goes after a failover or a
/// resharding.
///
/// ```swift
/// let channels = RedisWakeupChannels.perSlot
/// channels.publication(for: try LockName("orders"))   // ["SPUBLISH", "lockd:wake:{…}"], in the slot of "{orders}"
/// ```
public enum RedisWakeupChannels: Sendable {
    /// One classic channel for every name: a single Redis server (or Sentinel).
    case shared
    /// One shard channel per Cluster slot, in the slot of the names it serves.
    case perSlot

    /// The channels `deployment` needs: one per slot in a Redis Cluster, else one.
    public init(for deployment: RedisDeployment) {
        if case .cluster = deployment { self = .perSlot } else { self = .shared }
    }

    /// The one classic channel.
    static let sharedChannel = "lockd:waiting"

    /// The command and channel with which scripts on `name` announce: two
    /// script arguments.
    public func publication(for name: LockName) -> [String] {
        switch self {
        case .shared: ["PUBLISH", Self.sharedChannel]
        // A name's keys hash by their tag `{name}`, that is by the name.
        case .perSlot: ["SPUBLISH", Self.slotChannel(RedisHashSlot(key: name.value))]
        }
    }

    /// How an instance subscribes.
    var kind: RedisSubscriptionKind {
        switch self {
        case .shared: .channel
        case .perSlot: .shardChannel
        }
    }

    /// What an instance subscribes to, in groups to subscribe one after
    /// another: a slot's channel takes an `SSUBSCRIBE` of its own, and
    /// 16 384 of them at once would hold up the event loop that also
    /// serves requests (and time out on a busy machine).
    var subscriptions: [[String]] {
        switch self {
        case .shared:
            [[Self.sharedChannel]]
        case .perSlot:
            stride(from: 0, to: RedisHashSlot.count, by: Self.slotsPerSubscription).map { first in
                (first..<min(first + Self.slotsPerSubscription, RedisHashSlot.count)).map { Self.slotChannel(RedisHashSlot($0)) }
            }
        }
    }

    /// How many groups ``subscriptions`` has.
    var subscriptionCount: Int {
        switch self {
        case .shared: 1
        case .perSlot: (RedisHashSlot.count + Self.slotsPerSubscription - 1) / Self.slotsPerSubscription
        }
    }

    /// Slot channels per group of ``subscriptions``.
    static let slotsPerSubscription = 1024

    private static func slotChannel(_ slot: RedisHashSlot) -> String { "lockd:wake:{\(slot.hashTag)}" }
}
