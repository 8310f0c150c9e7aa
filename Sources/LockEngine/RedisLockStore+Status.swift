import LockdRedis
import RESP

/// Reading locks: one name's status, and the listing of held names by `SCAN`.
extension RedisLockStore {
    public func status(of name: LockName) async throws(LockError) -> LockStatus {
        try Self.status(of: name, from: try await run(scripts.status, .status, keys: Self.statusKeys(name), arguments: []))
    }

    static func statusKeys(_ name: LockName) -> [String] {
        let keys = keys(name)
        return [keys.lease, keys.holders, keys.grants, keys.waiters]
    }

    static func status(of name: LockName, from reply: RESPValue) throws(LockError) -> LockStatus {
        let fields = try Self.fields(reply, count: 5)
        let delayedUntil = try int(fields[4])
        return LockStatus(name: name, holders: try holders(fields[3], now: try int(fields[0])),
                          limit: Int(try int(fields[1])), waiting: Int(try int(fields[2])),
                          delayedUntilMs: delayedUntil > 0 ? delayedUntil : nil)
    }

    public func list(prefix: String, limit: Int, cursor: String?) async throws(LockError) -> LockPage {
        var position = try cursor.map { (text: String) throws(LockError) in try ListCursor.decode(text) } ?? ListCursor(scan: 0, after: "")
        // Shard by shard, in slot order: one for a single server or Sentinel,
        // each master of a cluster. A cursor's slot leads to whichever master
        // serves it now, so a failover between pages loses no place.
        let shards: [RedisShard]
        do { shards = try client.shards() } catch { throw unavailable(error) }
        var pending = shards.map { Int($0.firstSlot.value) }.filter { $0 > position.slot }[...]
        var names: [LockName] = []
        var nextCursor: String?
        scanning: while true {
            let reply = try await send(["SCAN", .string(String(position.scan)), "MATCH", .string("lockd:{\(prefix)*}:\(Self.holdingKeyPattern)"), "COUNT", 1000],
                                       .scan, route: .slot(RedisHashSlot(position.slot)))
            let fields = try Self.fields(reply, count: 2)
            guard let next = fields[0].string.flatMap(UInt64.init), let keys = fields[1].array else { throw Self.malformed }
            let batch = Set(keys.compactMap { $0.string.flatMap(Self.name(fromHoldingKey:)) })
                .filter { position.after.utf8.lexicographicallyPrecedes($0.value.utf8) }
                .sorted()
            var lastOfBatch = position.after
            for name in batch {
                if names.count == limit {
                    // Resume inside this batch: SCAN returns the same batch for
                    // the same cursor while the keyspace is not rehashed. The
                    // name to resume after is this batch's, never an earlier
                    // batch's (that would skip this batch's smaller names).
                    nextCursor = ListCursor(slot: position.slot, scan: position.scan, after: lastOfBatch).encoded
                    break scanning
                }
                names.append(name)
                lastOfBatch = name.value
            }
            if next != 0 {
                position = ListCursor(slot: position.slot, scan: next, after: "")
            } else if let slot = pending.popFirst() {
                position = ListCursor(slot: slot, scan: 0, after: "")
            } else {
                break
            }
        }
        // One round trip for the whole page.
        let replies = try await run(scripts.status, .status, pipelined: names.map { (keys: Self.statusKeys($0), arguments: []) }, on: client)
        var locks: [LockStatus] = []
        for (name, reply) in zip(names, replies) {
            let status = try Self.status(of: name, from: reply)
            if status.isHeld { locks.append(status) }
        }
        return LockPage(locks: locks, nextCursor: nextCursor)
    }

    /// Matches `lease` and `holders`, a name's keys while it is held, and
    /// none of its others.
    private static let holdingKeyPattern = "[lh][eo][al][sd]e*"

    private static func name(fromHoldingKey key: String) -> LockName? {
        guard key.hasPrefix("lockd:{") else { return nil }
        for suffix in ["}:lease", "}:holders"] where key.hasSuffix(suffix) {
            return try? LockName(String(key.dropFirst(7).dropLast(suffix.count)))
        }
        return nil
    }
}
