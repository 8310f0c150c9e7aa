import LockdRedis

extension RedisLockScripts {
    /// One lock script: its name and its body, which runs after the
    /// prelude's functions.
    struct Script: Sendable {
        /// Its name, and its function's in ``library(sharded:)`` (after the library's).
        let name: String
        /// Whether it may write: a function that never does is flagged
        /// `no-writes`, which Redis runs even when out of memory, as it runs
        /// such a script by `EVALSHA`.
        let writes: Bool
        /// The Lua after the prelude (its `KEYS` and `ARGV` are the call's).
        let body: String

        init(_ name: String, writes: Bool = true, _ body: String) {
            self.name = name
            self.writes = writes
            self.body = body
        }

        /// The script as `EVAL` runs it: the prelude functions its body
        /// calls, then the body (``LuaPrelude``).
        var text: String { prelude.script(body) }
    }

    /// Every script, each a function of ``library(sharded:)``.
    static let all = [acquire, renew, release, forceRelease, status, removeWaiter, beat, reconcile]

    /// Every script as a function of one Redis Functions library (Redis 7.0
    /// and later): the whole prelude, whose functions are made once per
    /// load instead of once per call (~1.2 µs a call for the acquire
    /// script's), then each script's body as the function
    /// `<library>_<name>`. Calls fall back to the scripts' own text by
    /// `EVALSHA` where Redis has no functions (RedisClient+Functions.swift).
    /// `sharded`: the Cluster's variant (``sharded(_:)``), another library.
    static func library(sharded isSharded: Bool) -> RedisFunctionLibrary {
        var code = preludeText
        for script in all {
            let flags = script.writes ? "" : ", flags = {'no-writes'}"
            code += "redis.register_function{function_name = library .. '_\(script.name)', callback = function(KEYS, ARGV)\n"
                + script.body + "\nend\(flags)}\n"
        }
        return RedisFunctionLibrary(prefix: "lockd", code: isSharded ? sharded(code) : code)
    }
}
