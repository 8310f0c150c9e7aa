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
    /// `EVALSHA sha1` and `EVAL source` as written on the wire, made once: a
    /// call by callback writes them with its arguments, without building a
    /// command array (and freeing it) per call.
    let cachedHead, uncachedHead: RESPEncodedArguments

    /// Creates a script and computes its SHA-1.
    public init(_ source: String) {
        self.source = source
        let sha1 = SHA1.hexDigest(source.utf8)
        self.sha1 = sha1
        func head(_ command: StaticString, _ text: String) -> RESPEncodedArguments {
            var writer = RESPArgumentWriter(capacity: command.utf8CodeUnitCount + text.utf8.count + 2 * RESPArgumentWriter.overhead)
            writer.append(command)
            writer.append(text)
            return writer.finish()
        }
        self.cachedHead = head("EVALSHA", sha1)
        self.uncachedHead = head("EVAL", source)
    }
}

extension RedisScript {
    /// `EVALSHA sha` when Redis is expected to have the script cached, else
    /// `EVAL source` (which caches it).
    public func call(keys: [String], arguments: [String], cached: Bool) -> RedisCommand {
        call(keyCount: keys.count, arguments: Self.encode(keys: keys, arguments: arguments), cached: cached)
    }

    /// ``call(keys:arguments:cached:)`` for keys and arguments written
    /// beforehand, the first `keyCount` of them keys.
    public func call(keyCount: Int, arguments: RESPEncodedArguments, cached: Bool) -> RedisCommand {
        RedisCommand([cached ? "EVALSHA" : "EVAL", .string(cached ? sha1 : source), .integer(Int64(keyCount)), .encoded(arguments)])
    }

    /// Keys then arguments as one run of bulk strings.
    static func encode(keys: [String], arguments: [String]) -> RESPEncodedArguments {
        var textBytes = 0
        for key in keys { textBytes += key.utf8.count }
        for argument in arguments { textBytes += argument.utf8.count }
        var writer = RESPArgumentWriter(capacity: textBytes + (keys.count + arguments.count) * RESPArgumentWriter.overhead)
        for key in keys { writer.append(key) }
        for argument in arguments { writer.append(argument) }
        return writer.finish()
    }
}
