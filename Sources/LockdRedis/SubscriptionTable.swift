/// Which subscriptions want which channels: lets many subscriptions share one
/// Redis subscription, and tells what to (re)subscribe and unsubscribe.
struct SubscriptionTable<Sink> {
    struct Key: Hashable {
        let kind: RedisSubscriptionKind
        let name: String
    }

    private struct Entry {
        let keys: [Key]
        let sink: Sink
        /// Redis confirmed it at least once, so it is renewed after a reconnect.
        var confirmed = false
    }

    private var entries: [UInt64: Entry] = [:]
    private var subscribers: [Key: [UInt64]] = [:]

    var isEmpty: Bool { entries.isEmpty }

    mutating func add(id: UInt64, kind: RedisSubscriptionKind, names: [String], sink: Sink) {
        let keys = names.map { Key(kind: kind, name: $0) }
        entries[id] = Entry(keys: keys, sink: sink)
        for key in keys { subscribers[key, default: []].append(id) }
    }

    mutating func confirm(id: UInt64) {
        entries[id]?.confirmed = true
    }

    /// Removes a subscription; returns its sink and the names no other subscription still wants.
    mutating func remove(id: UInt64) -> (sink: Sink, unsubscribe: [RedisSubscriptionKind: [String]])? {
        guard let entry = entries.removeValue(forKey: id) else { return nil }
        var unsubscribe: [RedisSubscriptionKind: [String]] = [:]
        for key in entry.keys {
            subscribers[key]?.removeAll { $0 == id }
            if subscribers[key]?.isEmpty == true {
                subscribers[key] = nil
                unsubscribe[key.kind, default: []].append(key.name)
            }
        }
        return (entry.sink, unsubscribe)
    }

    /// The sinks of every subscription matching a message (by pattern for pattern messages).
    func sinks(for message: RedisPubSubMessage, kind: RedisSubscriptionKind) -> [Sink] {
        let key = Key(kind: kind, name: message.pattern ?? message.channel)
        return (subscribers[key] ?? []).compactMap { entries[$0]?.sink }
    }

    /// Every name a confirmed subscription wants: what must stay subscribed.
    var confirmedKeys: Set<Key> {
        var keys: Set<Key> = []
        for entry in entries.values where entry.confirmed { keys.formUnion(entry.keys) }
        return keys
    }

    /// Whether any subscription, confirmed or not, wants `key`.
    func wants(_ key: Key) -> Bool {
        subscribers[key]?.isEmpty == false
    }

    /// Sinks of confirmed subscriptions that want any of `keys`, each once
    /// (by the index: a subscription may want thousands of names).
    func confirmedSinks(wanting keys: some Sequence<Key>) -> [Sink] {
        var ids: Set<UInt64> = []
        for key in keys { ids.formUnion(subscribers[key] ?? []) }
        return ids.compactMap { id in entries[id].flatMap { $0.confirmed ? $0.sink : nil } }
    }

    /// Removes everything, returning every sink.
    mutating func removeAll() -> [Sink] {
        defer {
            entries = [:]
            subscribers = [:]
        }
        return entries.values.map(\.sink)
    }
}
