import RESP

/// A Redis Functions library (Redis 7.0 and later): Lua code loaded once
/// with `FUNCTION LOAD`, whose functions are called with `FCALL`.
///
/// A script run by `EVALSHA` runs its whole text on every call, so every
/// helper it defines is made again per call; a library's helpers are made
/// once, when it is loaded. Its name carries a hash of its code: programs
/// whose code differs (two versions of lockd, rolling out) load libraries
/// of different names into one Redis and never replace each other's.
///
/// ```swift
/// let library = RedisFunctionLibrary(prefix: "app", code: """
///     redis.register_function(library .. '_get', function(keys, args) return redis.call('GET', keys[1]) end)
///     """)
/// let get = RedisScript("return redis.call('GET', KEYS[1])", function: library.function("get"))
/// ```
public struct RedisFunctionLibrary: Sendable, Hashable {
    /// `prefix_` then the first 16 hex digits of the code's SHA-1.
    public let name: String
    /// What `FUNCTION LOAD` takes: the `#!lua name=…` line, a local
    /// `library` holding the name (for the code to register its functions
    /// as `library .. '_' .. name`), then the code.
    public let source: String

    /// Creates the library of `code`, named after `prefix` and the code's hash.
    public init(prefix: String, code: String) {
        name = "\(prefix)_\(SHA1.hexDigest(code.utf8).prefix(16))"
        source = "#!lua name=\(name)\nlocal library = '\(name)'\n" + code
    }

    /// The library's function registered as `library .. '_' .. name`.
    public func function(_ name: String) -> RedisFunction {
        RedisFunction(library: self, name: "\(self.name)_\(name)")
    }

    /// `FUNCTION LOAD`, without `REPLACE`: the same name always holds the
    /// same code, so a library loaded meanwhile (`-ERR Library … already
    /// exists`, which Redis answers before compiling anything) is as good.
    var load: RedisCommand { ["FUNCTION", "LOAD", .string(source)] }
}

/// A function of a ``RedisFunctionLibrary``, by its full name.
public struct RedisFunction: Sendable, Hashable {
    /// The library that registers it.
    public let library: RedisFunctionLibrary
    /// The name `FCALL` takes.
    public let name: String
}
