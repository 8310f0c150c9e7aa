import LockdRedis
import LockdTransport
import RESP
import Testing

/// Script calls by `FCALL` to a library's function where Redis has
/// functions, and by `EVALSHA` where it has not (RedisClient+Functions.swift),
/// against a real redis-server the test starts itself.
@Suite struct RedisFunctionTests {
    static let library = RedisFunctionLibrary(prefix: "test", code: """
        local function add(key, amount) return redis.call('INCRBY', key, amount) end
        redis.register_function(library .. '_add', function(KEYS, ARGV) return add(KEYS[1], ARGV[1]) end)
        redis.register_function(library .. '_del', function(KEYS, ARGV) return redis.call('DEL', KEYS[1]) end)
        """)
    static let add = RedisScript("return redis.call('INCRBY', KEYS[1], ARGV[1])", function: library.function("add"))

    /// Calls of each kind: by callback, awaited, replicated and pipelined.
    static func runAll(_ redis: RedisTestHarness, key: String) async throws -> Int? {
        _ = try await RedisCallbackScriptTests.run(add, key: key, by: 1, on: redis.client).get()
        _ = try await redis.client.run(add, keys: [key], arguments: ["1"])
        _ = try await redis.client.run(add, keys: [key], arguments: ["1"], waitingForReplicas: 0, timeout: .milliseconds(10))
        _ = try await redis.client.run(add, pipelined: [(keys: [key], arguments: ["1"])])[0].get()
        return try await redis.client.send(["GET", .string(key)]).string.flatMap { Int($0) }
    }

    static func commandCalls(_ redis: RedisTestHarness) async throws -> [String: Int] {
        let info = try await redis.client.send(["INFO", "commandstats"]).string ?? ""
        var calls: [String: Int] = [:]
        for line in info.split(whereSeparator: \.isNewline) where line.hasPrefix("cmdstat_") {
            let name = line.dropFirst("cmdstat_".count).prefix { $0 != ":" }
            if let count = line.firstMatch(of: /calls=(\d+)/).flatMap({ Int($0.1) }) { calls[String(name)] = count }
        }
        return calls
    }

    @Test func callsLoadTheLibraryOnceAndRunByFcall() async throws {
        try await RedisTestHarness.with { (redis: RedisTestHarness) async throws in
            #expect(try await Self.runAll(redis, key: redis.key("n")) == 4)
            let calls = try await Self.commandCalls(redis)
            // The first call found no function, loaded it and ran; every call ran once, by FCALL.
            #expect(calls["function|load"] == 1)
            #expect(calls["fcall"] == 5)
            #expect(calls["evalsha"] == nil && calls["eval"] == nil)
            let listed = try await redis.client.send(["FUNCTION", "LIST", "LIBRARYNAME", .string(Self.library.name)]).array ?? []
            #expect(listed.count == 1)
        }
    }

    /// A node that lost the library (a restart without persistence, a new
    /// master) answers `Function not found`: each kind of call loads it
    /// again, or runs by EVALSHA, and runs exactly once.
    @Test func aLibraryLostMidRunIsLoadedAgain() async throws {
        try await RedisTestHarness.with { (redis: RedisTestHarness) async throws in
            let key = redis.key("n")
            #expect(try await Self.runAll(redis, key: key) == 4)
            _ = try await redis.client.send(["FUNCTION", "FLUSH"])
            _ = try await RedisCallbackScriptTests.run(Self.add, key: key, by: 10, on: redis.client).get()
            #expect(try await redis.client.send(["GET", .string(key)]).int == 14)
            _ = try await redis.client.send(["FUNCTION", "FLUSH"])
            _ = try await redis.client.run(Self.add, keys: [key], arguments: ["100"])
            #expect(try await redis.client.send(["GET", .string(key)]).int == 114)
            _ = try await redis.client.send(["FUNCTION", "FLUSH"])
            _ = try await redis.client.run(Self.add, keys: [key], arguments: ["1000"], waitingForReplicas: 0, timeout: .milliseconds(10))
            #expect(try await redis.client.send(["GET", .string(key)]).int == 1114)
            _ = try await redis.client.send(["FUNCTION", "FLUSH"])
            _ = try await redis.client.run(Self.add, pipelined: [(keys: [key], arguments: ["10000"])])[0].get()
            #expect(try await redis.client.send(["GET", .string(key)]).int == 11114)
            let calls = try await Self.commandCalls(redis)
            #expect(calls["function|load"] == 4)  // the first call, then each single call after a flush
            #expect(calls["evalsha"] == 1)  // the pipelined call after the last flush
        }
    }

    /// Out of memory, Redis refuses a function that may write before it
    /// starts, but runs a script until its first command that takes memory:
    /// a call refused `-OOM` runs by EVALSHA, so a DEL still frees memory.
    @Test func aFunctionRefusedOutOfMemoryRunsByEvalsha() async throws {
        let del = RedisScript("return redis.call('DEL', KEYS[1])", function: Self.library.function("del"))
        try await RedisTestHarness.with { (redis: RedisTestHarness) async throws in
            let keys = ["a", "b", "c"].map { redis.key($0) }
            for key in keys { _ = try await redis.client.send(["SET", .string(key), "x"]) }
            _ = try await redis.client.send(["FUNCTION", "LOAD", .string(Self.library.source)])
            _ = try await redis.client.send(["CONFIG", "SET", "maxmemory", "1"])
            #expect(try await redis.client.run(del, keys: [keys[0]], arguments: []).int == 1)
            #expect(try await redis.client.run(del, pipelined: [(keys: [keys[1]], arguments: [])])[0].get().int == 1)
            #expect(try await RedisCallbackScriptTests.run(del, key: keys[2], by: 0, on: redis.client).get().int == 1)
            _ = try await redis.client.send(["CONFIG", "SET", "maxmemory", "0"])
            let calls = try await Self.commandCalls(redis)
            #expect(calls["eval"] == 1 && calls["evalsha"] == 3, "\(calls)")
        }
    }

    /// A Redis without `FCALL` (older than 7.0; here renamed away) runs every
    /// call by EVALSHA, after one refused FCALL.
    @Test func aRedisWithoutFunctionsRunsScriptsByEvalsha() async throws {
        try await RedisTestHarness.with(serverArguments: ["--rename-command", "FCALL", ""]) { (redis: RedisTestHarness) async throws in
            #expect(try await Self.runAll(redis, key: redis.key("n")) == 4)
            #expect(try await Self.runAll(redis, key: redis.key("n")) == 8)
            let calls = try await Self.commandCalls(redis)
            #expect(calls["fcall"] == nil && calls["function|load"] == nil)
            // After the first refusal, every call by EVALSHA (the first of them by EVAL: not cached yet).
            #expect(calls["evalsha"] == 8)
            #expect(calls["eval"] == 1)
        }
    }

    /// An ACL user without `FUNCTION` (allowed `FCALL`) runs every call by EVALSHA.
    @Test func aUserWithoutFunctionLoadRunsScriptsByEvalsha() async throws {
        try await RedisTestHarness.with { (admin: RedisTestHarness) async throws in
            _ = try await admin.client.send(["ACL", "SETUSER", "nofunctions", "on", ">secret", "~*", "&*", "+@all", "-function"])
            var configuration = try RedisConfiguration(url: "redis://nofunctions:secret@127.0.0.1:\(admin.server.port)")
            configuration.commandTimeout = .seconds(5)
            let client = RedisClient(configuration: configuration, eventLoopGroup: admin.group, logger: RedisTestHarness.quietLogger)
            let user = RedisTestHarness(server: admin.server, group: admin.group, client: client)
            let key = admin.key("n")
            #expect(try await Self.runAll(user, key: key) == 4)
            #expect(try await Self.runAll(user, key: key) == 8)
            await client.shutdown()
            let calls = try await Self.commandCalls(admin)
            #expect(calls["fcall"] == 1)  // Function not found; the load is refused
            #expect((calls["evalsha"] ?? 0) + (calls["eval"] ?? 0) == 9)
        }
    }
}
