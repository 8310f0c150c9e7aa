import RESP

/// A Lua script run with `EVALSHA`, falling back to `EVAL` when Redis does
/// not have it cached (`-NOSCRIPT`, after a restart or `SCRIPT FLUSH`) — or,
/// when it is also a function of a ``RedisFunctionLibrary``, run with
/// `FCALL` where Redis has functions (7.0 and later; see
/// RedisClient+Functions.swift).
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
    /// How a call names its script.
    public enum Form: Sendable, Hashable {
        /// `FCALL name`: the script's function (only with ``RedisScript/function``).
        case function
        /// `EVALSHA sha1`.
        case cached
        /// `EVAL source`, which caches it.
        case source
    }

    /// The Lua source.
    public var source: String { storage.source }
    /// The SHA-1 of the source as 40 lowercase hex digits, as `EVALSHA` expects.
    public var sha1: String { storage.sha1 }
    /// The same script as a function of a library, when it has one.
    public var function: RedisFunction? { storage.function }
    /// Whether it has one (asked per call: no copy of the function made to answer).
    var hasFunction: Bool { storage.functionHead != nil }

    /// Everything above, made once and shared: a script is copied into
    /// every call (a dozen fields with their retains and releases, ~500
    /// instructions a lock request, where one reference costs one).
    private let storage: Storage

    fileprivate final class Storage: Sendable {
        let source: String
        let sha1: String
        let function: RedisFunction?
        /// `EVALSHA sha1`, `EVAL source` and `FCALL name` as written on the
        /// wire, made once: a call by callback writes them with its arguments,
        /// without building a command array (and freeing it) per call.
        let cachedHead, uncachedHead: RESPEncodedArguments
        let functionHead: RESPEncodedArguments?

        init(source: String, function: RedisFunction?) {
            self.source = source
            let sha1 = SHA1.hexDigest(source.utf8)
            self.sha1 = sha1
            self.function = function
            func head(_ command: StaticString, _ text: String) -> RESPEncodedArguments {
                var writer = RESPArgumentWriter(capacity: command.utf8CodeUnitCount + text.utf8.count + 2 * RESPArgumentWriter.overhead)
                writer.append(command)
                writer.append(text)
                return writer.finish()
            }
            self.cachedHead = head("EVALSHA", sha1)
            self.uncachedHead = head("EVAL", source)
            self.functionHead = function.map { head("FCALL", $0.name) }
        }

        /// Calls `body` with the head `form` writes, lent where it is kept
        /// (``RedisScript/withHead(_:_:)``, ``Lent/withHead(_:_:)``).
        @inline(__always)
        func withHead<Result>(_ form: Form, _ body: (borrowing RESPEncodedArguments) -> Result) -> Result {
            switch form {
            case .function:
                if functionHead != nil { return body(functionHead.unsafelyUnwrapped) }
                return body(cachedHead)
            case .cached: return body(cachedHead)
            case .source: return body(uncachedHead)
            }
        }
    }

    /// Creates a script and computes its SHA-1; `function`: the same code
    /// as a function of a library, which calls prefer where Redis has it.
    public init(_ source: String, function: RedisFunction? = nil) {
        storage = Storage(source: source, function: function)
    }

    /// Scripts are equal when their source and function are.
    public static func == (lhs: RedisScript, rhs: RedisScript) -> Bool {
        lhs.storage === rhs.storage || (lhs.source == rhs.source && lhs.function == rhs.function)
    }

    /// Hashes what ``==(_:_:)`` compares.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(source)
        hasher.combine(function)
    }

    /// The command and script name a call in `form` starts with.
    func head(_ form: Form) -> RESPEncodedArguments {
        switch form {
        case .function: storage.functionHead ?? storage.cachedHead
        case .cached: storage.cachedHead
        case .source: storage.uncachedHead
        }
    }

    /// This script, not retained: for a holder that knows something else
    /// holds it for as long as the holder uses it (see ``Lent``).
    var lent: Lent { Lent(storage: Unmanaged.passUnretained(storage)) }

    /// A script held unretained (a retain as its holder is made and a
    /// release as it is freed, ~40 instructions a script call): whoever
    /// keeps one must know the script lives as long (see
    /// ``RedisScriptCall/init(lendingClient:script:keyCount:argumentRoom:)``).
    struct Lent {
        fileprivate let storage: Unmanaged<Storage>

        /// The script, retained for its use (off the hot path).
        var script: RedisScript { RedisScript(storage: storage.takeUnretainedValue()) }

        /// ``RedisScript/withHead(_:_:)`` of the script lent.
        @inline(__always)
        func withHead<Result>(_ form: Form, _ body: (borrowing RESPEncodedArguments) -> Result) -> Result {
            storage._withUnsafeGuaranteedRef { $0.withHead(form, body) }
        }
    }

    private init(storage: Storage) {
        self.storage = storage
    }

    /// Calls `body` with ``head(_:)``, lent where the script keeps it:
    /// returned, the head's bytes were retained for the call and released
    /// after (~40 instructions a script call).
    @inline(__always)
    func withHead<Result>(_ form: Form, _ body: (borrowing RESPEncodedArguments) -> Result) -> Result {
        storage.withHead(form, body)
    }
}

extension RedisScript {
    /// `EVALSHA sha` when Redis is expected to have the script cached, else
    /// `EVAL source` (which caches it).
    public func call(keys: [String], arguments: [String], cached: Bool) -> RedisCommand {
        call(keys: keys, arguments: arguments, form: cached ? .cached : .source)
    }

    /// The call in `form` (`FCALL`, `EVALSHA` or `EVAL`).
    public func call(keys: [String], arguments: [String], form: Form) -> RedisCommand {
        call(keyCount: keys.count, arguments: Self.encode(keys: keys, arguments: arguments), form: form)
    }

    /// ``call(keys:arguments:cached:)`` for keys and arguments written
    /// beforehand, the first `keyCount` of them keys.
    public func call(keyCount: Int, arguments: RESPEncodedArguments, cached: Bool) -> RedisCommand {
        call(keyCount: keyCount, arguments: arguments, form: cached ? .cached : .source)
    }

    /// ``call(keys:arguments:form:)`` for keys and arguments written
    /// beforehand, the first `keyCount` of them keys.
    public func call(keyCount: Int, arguments: RESPEncodedArguments, form: Form) -> RedisCommand {
        let (command, name): (RESPBulk, String) = switch (form, function) {
        case (.function, let function?): ("FCALL", function.name)
        case (.function, nil), (.cached, _): ("EVALSHA", sha1)
        case (.source, _): ("EVAL", source)
        }
        return RedisCommand([command, .string(name), .integer(Int64(keyCount)), .encoded(arguments)])
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
