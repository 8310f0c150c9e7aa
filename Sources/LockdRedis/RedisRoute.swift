import RESP

/// Which master a command goes to. A single server or a Sentinel master
/// takes every command whatever its route; in a Redis Cluster the route
/// picks the master of a hash slot.
///
/// Commands find their route by themselves (see ``RedisCommand/route``);
/// name one for commands whose key is not where the client looks, or to
/// reach one shard on purpose:
///
/// ```swift
/// for shard in try await client.shards() {
///     let page = try await client.send(["SCAN", "0", "COUNT", 1000], route: .slot(shard.firstSlot))
/// }
/// ```
public enum RedisRoute: Sendable, Hashable {
    /// The master of the key's hash slot (hash tags count: `{orders}:a` and `{orders}:b` go together).
    case key(String)
    /// The master serving this hash slot.
    case slot(RedisHashSlot)
    /// Some master: for commands that touch no key (`PING`, `TIME`, `INFO`).
    /// In a cluster, the master of slot 0.
    case anyPrimary

    /// The slot this route names, if any.
    var slot: RedisHashSlot? {
        switch self {
        case .key(let key): RedisHashSlot(key: key)
        case .slot(let slot): slot
        case .anyPrimary: nil
        }
    }
}

extension RedisCommand {
    /// The route the client gives this command when the caller names none:
    /// the first key of `EVAL`/`EVALSHA`/`FCALL` (and their `_RO` forms),
    /// the channel of `SPUBLISH`, ``RedisRoute/anyPrimary`` for commands that
    /// take no key (`PING`, `TIME`, `INFO`, `SCAN`, `CLUSTER`, `SCRIPT`,
    /// `WAIT`, `PUBLISH`, …), and otherwise the first argument after the
    /// command's name — right for every command whose first argument is its
    /// key (`GET`, `SET`, `INCR`, `ZADD`, `DEL` of keys in one slot, …).
    public var route: RedisRoute {
        guard var name = arguments.first.flatMap(Self.text) else { return .anyPrimary }
        // Names usually come in capitals: spare them the Unicode-aware uppercasing.
        if name.utf8.contains(where: { $0 >= UInt8(ascii: "a") }) { name = name.uppercased() }
        if Self.scriptCalls.contains(name) {
            // EVALSHA sha numkeys key…
            guard arguments.count > 3, let count = Self.text(arguments[2]).flatMap({ Int($0) }), count > 0,
                  let key = Self.text(arguments[3]) else { return .anyPrimary }
            return .key(key)
        }
        if Self.keyless.contains(name) { return .anyPrimary }
        guard arguments.count > 1, let key = Self.text(arguments[1]) else { return .anyPrimary }
        return .key(key)
    }

    private static func text(_ argument: RESPBulk) -> String? {
        switch argument {
        case .string(let text): text
        case .bytes(let bytes): String(decoding: bytes, as: UTF8.self)
        case .integer(let value): String(value)
        case .encoded(let run): run.first.map { String(decoding: $0, as: UTF8.self) }
        }
    }

    private static let scriptCalls: Set<String> = ["EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO"]

    private static let keyless: Set<String> = [
        "ACL", "ASKING", "AUTH", "BGREWRITEAOF", "BGSAVE", "CLIENT", "CLUSTER", "COMMAND", "CONFIG", "DBSIZE", "DEBUG",
        "DISCARD", "ECHO", "EXEC", "FAILOVER", "FLUSHALL", "FLUSHDB", "FUNCTION", "HELLO", "INFO", "LASTSAVE", "LATENCY",
        "LOLWUT", "MODULE", "MONITOR", "MULTI", "PING", "PUBLISH", "PUBSUB", "QUIT", "RANDOMKEY", "READONLY", "READWRITE",
        "REPLICAOF", "RESET", "ROLE", "SAVE", "SCAN", "SCRIPT", "SELECT", "SHUTDOWN", "SLAVEOF", "SLOWLOG", "SWAPDB", "TIME",
        "WAIT", "WAITAOF",
    ]
}
