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
