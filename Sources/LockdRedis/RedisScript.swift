import RESP

/// A Lua script run with `EVALSHA`, falling back to `EVAL` when Redis does
/// not have it cached (`-NOSCRIPT`, after a restart or `SCRIPT FLUSH`).
///
/// The SHA-1 is computed once, locally, when the script is created.
///
/// ```swift
/// static let acquire = RedisScript("""
///     if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
///         return redis.call('INCR', KEYS[2])
///     end
///     return false
///     """)
/// let fence = try await client.run(acquire, keys: [lockKey, fenceKey], arguments: [token, "30000"])
/// ```
public struct RedisScript: Sendable, Hashable {
    /// The Lua source.
    public let source: String
    /// The SHA-1 of the source as 40 lowercase hex digits, as `EVALSHA` expects.
    public let sha1: String

    /// Creates a script and computes its SHA-1.
    public init(_ source: String) {
        self.source = source
        self.sha1 = SHA1.hexDigest(source.utf8)
    }
}

extension RedisScript {
    /// `EVALSHA sha` when Redis is expected to have the script cached, else
    /// `EVAL source` (which caches it).
    public func call(keys: [String], arguments: [String], cached: Bool) -> RedisCommand {
        var command: [RESPBulk] = [cached ? "EVALSHA" : "EVAL", .string(cached ? sha1 : source), .integer(Int64(keys.count))]
        command.reserveCapacity(3 + keys.count + arguments.count)
        for key in keys { command.append(.string(key)) }
        for argument in arguments { command.append(.string(argument)) }
        return RedisCommand(command)
    }
}
