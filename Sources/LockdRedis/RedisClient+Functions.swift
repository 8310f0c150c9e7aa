import Logging
import RESP

/// Script calls by `FCALL` where Redis has functions (see
/// ``RedisFunctionLibrary``), by `EVALSHA`/`EVAL` where it has not.
///
/// A call to a script with a ``RedisScript/function`` goes first by `FCALL`.
/// A node without the library (`-ERR Function not found`: restarted without
/// persistence, `FUNCTION FLUSH`, a new Cluster master, a promoted replica
/// that never had it) gets it by `FUNCTION LOAD` (one load at a time), on the node the
/// call goes to, and the call is sent again — as `-NOSCRIPT` is answered
/// by `EVAL`. A Redis without functions (before 7.0: `unknown command`), or
/// an ACL that withholds `FCALL` or `FUNCTION LOAD`, turns them off for the
/// client: its calls go by `EVALSHA` from then on. A call refused `-OOM`
/// goes by `EVALSHA` too: Redis refuses a function that may write before it
/// starts, when out of memory, where it runs a script (one without flags,
/// as these are) until its first command that would take memory — a
/// release, or a refusal, still answers as it did. None of these replies
/// ran the call, so sending it again is safe.
extension RedisClient {
    /// The form a call of `script` starts with.
    func firstForm(_ script: RedisScript) -> RedisScript.Form {
        script.hasFunction && functionsUsable.load(ordering: .relaxed) ? .function : .cached
    }

    /// The command that calls `script` in the form this client's calls start
    /// with — `FCALL` where Redis has functions, else `EVALSHA` — for a
    /// caller that pipelines the call beside other commands. A reply that
    /// ``RedisError/meansScriptDidNotRun`` did not run it: call it again with
    /// ``run(_:keys:arguments:idempotent:)``, which finds the form that works.
    public func firstCall(of script: RedisScript, keys: [String], arguments: [String]) -> RedisCommand {
        script.call(keys: keys, arguments: arguments, form: firstForm(script))
    }

    /// Whether `error`, the reply to an `FCALL` or `FUNCTION LOAD`, says this
    /// Redis has no functions for the client; if so, turns them off for good
    /// (said once in the log).
    func functionsUnavailable(_ error: RedisError) -> Bool {
        guard error.meansFunctionsUnavailable else { return false }
        if functionsUsable.exchange(false, ordering: .relaxed) {
            // A fixed reason, never Redis's message: "unknown command" echoes
            // the call's first arguments, which may hold a lease token.
            let reason = error.kind == .permissionDenied ? "the ACL withholds FCALL or FUNCTION LOAD" : "FCALL is an unknown command"
            logger.notice("Redis scripts run by EVALSHA: this Redis has no functions for lockd", metadata: ["reason": "\(reason)"])
        }
        return true
    }

    /// Whether `error`, the reply to an `FCALL`, says the call did not run
    /// and should go by `EVALSHA`: no function there, refused `-OOM`, or no
    /// functions at all (which turns them off, see ``functionsUnavailable(_:)``).
    func goesByEvalsha(after error: RedisError) -> Bool {
        error.isFunctionNotFound || error.isRefusedFunctionOutOfMemory || functionsUnavailable(error)
    }

    /// Runs one call of `script` through `attempt`, which sends it in the
    /// form given and returns its reply: by `FCALL` where Redis has
    /// functions (loading the library where `route` goes, when it lacks
    /// it), else by `EVALSHA`, then `EVAL` after `-NOSCRIPT`.
    nonisolated(nonsending) func runScript(
        _ script: RedisScript, route: RedisRoute,
        _ attempt: nonisolated(nonsending) (RedisScript.Form) async throws(RedisError) -> RESPValue
    ) async throws(RedisError) -> RESPValue {
        if firstForm(script) == .function {
            do {
                return try await attempt(.function)
            } catch where error.isFunctionNotFound {
                if try await loadLibrary(of: script, route: route) {
                    // (Not found again: flushed meanwhile; EVALSHA serves it.)
                    do { return try await attempt(.function) } catch where goesByEvalsha(after: error) {}
                }
            } catch where goesByEvalsha(after: error) {}
        }
        do {
            return try await attempt(.cached)
        } catch where error.code == "NOSCRIPT" {
            return try await attempt(.source)
        }
    }

    /// Loads `script`'s library on the node `route` goes to. False when
    /// Redis refused it, or another call of this client is loading a
    /// library now: the call then goes by `EVALSHA`.
    nonisolated(nonsending) func loadLibrary(of script: RedisScript, route: RedisRoute) async throws(RedisError) -> Bool {
        guard let function = script.function, startLibraryLoad() else { return false }
        defer { libraryLoading.store(false, ordering: .releasing) }
        do {
            _ = try await send(function.library.load, route: route, idempotent: true)
            return true
        } catch where error.isLibraryLoaded {
            return true
        } catch where error.kind == .refused || error.kind == .permissionDenied {
            _ = functionsUnavailable(error)
            return false
        }
    }

    /// Whether this call may load a library now: one load at a time per
    /// client. After a node lost the library every call in flight misses
    /// it; one loads it and the others go by `EVALSHA` (a load compiles
    /// the whole library: a thousand of them would hold Redis for seconds).
    /// The caller ends the load with `libraryLoading.store(false)`.
    func startLibraryLoad() -> Bool {
        libraryLoading.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
    }
}

extension RedisError {
    /// `-ERR Function not found`: the node lacks the function's library;
    /// the call did not run.
    var isFunctionNotFound: Bool { kind == .refused && message.hasPrefix("ERR Function not found") }

    /// `-ERR Library '…' already exists`: loaded meanwhile (by another
    /// client); the same name always holds the same code.
    var isLibraryLoaded: Bool { kind == .refused && message.hasPrefix("ERR Library") && message.hasSuffix("already exists") }

    /// `-OOM` to an `FCALL`: refused before it ran (see RedisClient+Functions.swift).
    var isRefusedFunctionOutOfMemory: Bool { kind == .refused && code == "OOM" }

    /// Whether this reply to a script call sent as ``RedisClient/firstCall(of:keys:arguments:)``
    /// says the script did not run (`-NOSCRIPT`, no such function, an `FCALL`
    /// refused `-OOM`, no functions for this client): running it again is safe.
    public var meansScriptDidNotRun: Bool {
        code == "NOSCRIPT" || isFunctionNotFound || isRefusedFunctionOutOfMemory || meansFunctionsUnavailable
    }

    /// Redis has no functions (`unknown command` before 7.0, or renamed
    /// away), or its ACL withholds `FCALL` or `FUNCTION` from the user.
    var meansFunctionsUnavailable: Bool {
        switch kind {
        case .refused: return message.hasPrefix("ERR unknown command")
        case .permissionDenied:
            let message = message.lowercased()
            return message.contains("'fcall'") || message.contains("'function")
        default: return false
        }
    }
}
