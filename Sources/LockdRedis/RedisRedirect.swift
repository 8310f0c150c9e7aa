/// A Redis Cluster redirection: the node asked does not serve the key's slot.
///
/// `-MOVED 3999 10.0.0.7:7002`: the slot now lives on that node for good
/// (update the slot map). `-ASK 3999 10.0.0.7:7002`: the slot is being
/// migrated and this key is on the target already; send `ASKING` and then
/// the command to that node, once, without updating the map.
struct RedisRedirect: Sendable, Hashable {
    enum Kind: Sendable, Hashable {
        case moved, ask
    }

    let kind: Kind
    let slot: RedisHashSlot
    let endpoint: RedisEndpoint

    /// Parses the message of an error reply; nil when it is no redirection.
    /// - Parameter from: the node that answered: Redis leaves the host out
    ///   (`MOVED 3999 :7002`) when the client should reuse that node's.
    init?(_ message: String, from node: RedisEndpoint) {
        let words = message.split(separator: " ", omittingEmptySubsequences: true)
        guard words.count == 3, let slot = Int(words[1]), slot >= 0, slot < RedisHashSlot.count,
              let endpoint = RedisEndpoint(redisNotation: words[2], fallbackHost: node.host) else { return nil }
        switch words[0] {
        case "MOVED": kind = .moved
        case "ASK": kind = .ask
        default: return nil
        }
        self.slot = RedisHashSlot(slot)
        self.endpoint = endpoint
    }
}
