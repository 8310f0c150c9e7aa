import LockdRedis
import LockdTransport
import Testing

/// The client against a real redis-server the test starts itself.
@Suite struct RedisClientTests {
    @Test func aThousandConcurrentCommandsOnOneConnectionEachReadTheirOwnValue() async throws {
        try await RedisTestHarness.with { redis in
            let loop = redis.group.loops[0]
            // Half the callers run on the connection's loop (as lockd's request
            // tasks do), half come from the global executor.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<1_000 {
                    let operation: @Sendable () async throws -> Void = {
                        let key = redis.key("k\(index)")
                        let value = "value-\(index)-\(UInt32.random(in: 0...UInt32.max))"
                        _ = try await redis.client.send(["SET", .string(key), .string(value)])
                        let read = try await redis.client.send(["GET", .string(key)])
                        #expect(read.string == value)
                    }
                    if index.isMultiple(of: 2) {
                        group.addTask(executorPreference: loop, operation: operation)
                    } else {
                        group.addTask(operation: operation)
                    }
                }
                try await group.waitForAll()
            }
            let clients = try await redis.client.send(["CLIENT", "LIST"]).string ?? ""
            #expect(clients.split(separator: "\n").filter { $0.contains("name=lockd") }.count == 1)
        }
    }

    @Test func concurrentPipelinesAndSingleCommandsEachReadTheirOwnValues() async throws {
        try await RedisTestHarness.with { redis in
            let loop = redis.group.loops[0]
            try await withThrowingTaskGroup(of: Void.self) { group in
                for caller in 0..<100 {
                    group.addTask(executorPreference: caller.isMultiple(of: 2) ? loop : nil) {
                        let keys = (0..<20).map { redis.key("p\(caller)-\($0)") }
                        let values = keys.map { "\($0)=\(UInt32.random(in: 0...UInt32.max))" }
                        let writes = try await redis.client.pipeline(zip(keys, values).map { ["SET", .string($0), .string($1)] })
                        #expect(writes.allSatisfy { (try? $0.get().string) == "OK" })
                        let single = try await redis.client.send(["GET", .string(keys[0])])
                        let reads = try await redis.client.pipeline(keys.map { ["GET", .string($0)] })
                        #expect(single.string == values[0])
                        #expect(reads.map { try? $0.get().string } == values)
                    }
                }
                try await group.waitForAll()
            }
        }
    }

    @Test func anErrorReplyInAPipelineFailsOnlyItsCommandAndBigPipelinesArrive() async throws {
        // The deadline covers a whole pipeline: generous, for a loaded machine.
        try await RedisTestHarness.with(configure: { $0.commandTimeout = .seconds(5) }) { redis in
            let (list, counter) = (redis.key("list"), redis.key("counter"))
            let replies = try await redis.client.pipeline([
                ["LPUSH", .string(list), "x"], ["INCR", .string(list)], ["INCR", .string(counter)],
            ])
            #expect(try replies[0].get().int == 1)
            guard case .failure(let error) = replies[1] else { Issue.record("INCR on a list must fail"); return }
            #expect(error.kind == .refused && error.code == "WRONGTYPE")
            #expect(try replies[2].get().int == 1)
            #expect(try await redis.client.pipeline([]).isEmpty)

            // Far more than one socket buffer each way: written and read in many pieces.
            let value = String(repeating: "v", count: 500)
            let count = 4_000
            let big = try await redis.client.pipeline((0..<count).map { ["SET", .string(redis.key("big\($0)")), .string(value)] })
            #expect(big.count == count)
            let back = try await redis.client.pipeline((0..<count).map { ["STRLEN", .string(redis.key("big\($0)"))] })
            #expect(back.allSatisfy { (try? $0.get().int) == value.utf8.count })
        }
    }

    @Test func everyKindOfReplyComesBackTyped() async throws {
        try await RedisTestHarness.with { redis in
            let hash = redis.key("h")
            #expect(try await redis.client.send(["HSET", .string(hash), "a", "1", "b", "2"]).int == 2)
            let map = try await redis.client.send(["HGETALL", .string(hash)])
            guard case .map(let pairs) = map else { Issue.record("RESP3 answers HGETALL with a map, got \(map)"); return }
            #expect(Set(pairs.compactMap { $0.key.string }) == ["a", "b"])
            #expect(try await redis.client.send(["GET", .string(redis.key("missing"))]).isNull)
            #expect(try await redis.client.send(["INCRBYFLOAT", .string(redis.key("f")), "1.5"]).double == 1.5)
            #expect(try await redis.client.send(["SET", .string(redis.key("b")), .bytes([0, 13, 10, 255])]).string == "OK")
            #expect(try await redis.client.send(["GET", .string(redis.key("b"))]).bytes == [0, 13, 10, 255])
            try await redis.client.ping()
        }
    }

    @Test func resp2IsUsedWhenRESP3IsNotWanted() async throws {
        try await RedisTestHarness.with(configure: { $0.prefersRESP3 = false }) { redis in
            let hash = redis.key("h")
            _ = try await redis.client.send(["HSET", .string(hash), "a", "1"])
            let reply = try await redis.client.send(["HGETALL", .string(hash)])
            guard case .array = reply else { Issue.record("RESP2 answers HGETALL with an array, got \(reply)"); return }
            #expect(reply.pairs?.first?.key.string == "a")
        }
    }

    @Test func errorRepliesAreRefusalsThatLeaveTheConnectionUsable() async throws {
        try await RedisTestHarness.with { redis in
            let key = redis.key("list")
            _ = try await redis.client.send(["LPUSH", .string(key), "x"])
            do throws(RedisError) {
                _ = try await redis.client.send(["INCR", .string(key)])
                Issue.record("INCR on a list must fail")
            } catch {
                #expect(error.kind == .refused && error.code == "WRONGTYPE" && !error.isServerUnavailable)
            }
            #expect(try await redis.client.send(["LLEN", .string(key)]).int == 1)
        }
    }

    @Test func scriptsRunByShaAndFallBackToEvalAfterScriptFlush() async throws {
        let script = RedisScript("""
            if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
                return redis.call('INCR', KEYS[2])
            end
            return false
            """)
        try await RedisTestHarness.with { redis in
            let keys = [redis.key("lock"), redis.key("fence")]
            // Never loaded: the first run falls back to EVAL, which caches it.
            #expect(try await redis.client.run(script, keys: keys, arguments: ["token-1", "10000"]).int == 1)
            #expect(try await redis.client.send(["SCRIPT", "EXISTS", .string(script.sha1)]).array?.first?.int == 1)
            #expect(try await redis.client.run(script, keys: keys, arguments: ["token-2", "10000"]).isNull)
            _ = try await redis.client.send(["SCRIPT", "FLUSH"])
            #expect(try await redis.client.send(["SCRIPT", "EXISTS", .string(script.sha1)]).array?.first?.int == 0)
            _ = try await redis.client.send(["DEL", .string(keys[0])])
            #expect(try await redis.client.run(script, keys: keys, arguments: ["token-3", "10000"]).int == 2)
            #expect(try await redis.client.send(["SCRIPT", "EXISTS", .string(script.sha1)]).array?.first?.int == 1)
        }
    }

    @Test func pipelinedScriptCallsFallBackToEvalOnlyWhereNeeded() async throws {
        let script = RedisScript("return redis.call('INCRBY', KEYS[1], ARGV[1])")
        try await RedisTestHarness.with { redis in
            let calls = (0..<50).map { (keys: [redis.key("n\($0)")], arguments: [String($0)]) }
            // Not cached yet: every call meets NOSCRIPT and runs again, and so exactly once.
            let first = try await redis.client.run(script, pipelined: calls)
            #expect(first.map { try? $0.get().int } == (0..<50).map { $0 })
            let second = try await redis.client.run(script, pipelined: calls + [(keys: [redis.key("n0")], arguments: ["x"])])
            #expect(second.prefix(50).map { try? $0.get().int } == (0..<50).map { 2 * $0 })
            guard case .failure(let error) = second[50] else { Issue.record("a script error is that call's own"); return }
            #expect(error.kind == .refused)
            let info = try await redis.client.send(["INFO", "commandstats"]).string ?? ""
            // One EVAL cached the script for the 49 EVALSHAs behind it.
            #expect(info.contains("cmdstat_eval:calls=1,"), "\(info)")
        }
    }

    @Test func wrongPasswordIsReportedClearly() async throws {
        try await RedisTestHarness.with(serverArguments: ["--requirepass", "right-password"], configure: { $0.password = "wrong-password" }) { redis in
            do throws(RedisError) {
                try await redis.client.ping()
                Issue.record("a wrong password must fail")
            } catch {
                #expect(error.kind == .authenticationFailed)
                #expect(error.isServerUnavailable)
                #expect(error.message.contains("rejected the user name or password"))
                #expect(!error.message.contains("wrong-password"))
            }
            let anonymous = try RedisTestHarness.makeClient(server: redis.server, group: redis.group)
            do throws(RedisError) {
                try await anonymous.ping()
                Issue.record("a missing password must fail")
            } catch {
                #expect(error.kind == .authenticationFailed && error.message.contains("requires a password"))
            }
            await anonymous.shutdown()
        }
    }

    @Test func aclUserAndPasswordAuthenticate() async throws {
        try await RedisTestHarness.with(serverArguments: ["--requirepass", "admin-password"], configure: { $0.password = "admin-password" }) { redis in
            _ = try await redis.client.send(["ACL", "SETUSER", "app", "on", ">app-password", "~*", "&*", "+@all"])
            let app = try RedisTestHarness.makeClient(server: redis.server, group: redis.group) {
                $0.username = "app"
                $0.password = "app-password"
                $0.database = 3
            }
            #expect(try await app.send(["ACL", "WHOAMI"]).string == "app")
            _ = try await app.send(["SET", .string(redis.key("in-db-3")), "x"])
            #expect(try await redis.client.send(["EXISTS", .string(redis.key("in-db-3"))]).int == 0)
            await app.shutdown()
        }
    }
}
