import LockdRedis
import LockdTestSupport
import LockdTransport
import Testing

/// Connections that break, servers that die, replies that come too late.
@Suite struct RedisFaultTests {
    @Test func reconnectsAfterClientKill() async throws {
        try await RedisTestHarness.with { redis in
            let key = redis.key("k")
            _ = try await redis.client.send(["SET", .string(key), "before"])
            let firstID = try #require(try await redis.client.send(["CLIENT", "ID"]).int)
            let killer = try RedisTestHarness.makeClient(server: redis.server, group: redis.group) { $0.clientName = "killer" }
            #expect(try await killer.send(["CLIENT", "KILL", "ID", .integer(Int64(firstID))]).int == 1)
            await killer.shutdown()
            let read = try await retrying(within: .seconds(3)) { try await redis.client.send(["GET", .string(key)]) }
            #expect(read.string == "before")
            #expect(try await redis.client.send(["CLIENT", "ID"]).int != firstID)
        }
    }

    @Test func failsFastWhileRedisIsDownAndRecoversOnItsOwnAfterARestart() async throws {
        try await RedisTestHarness.with { redis in
            let key = redis.key("k")
            _ = try await redis.client.send(["SET", .string(key), "v"])
            await offThePool { redis.server.kill() }
            // Every call while Redis is away fails quickly with a 503-worthy error.
            for _ in 0..<20 {
                let started = MonotonicClock.now()
                do throws(RedisError) {
                    _ = try await redis.client.send(["GET", .string(key)])
                    Issue.record("Redis is down")
                } catch {
                    #expect(error.isServerUnavailable, "\(error)")
                }
                #expect(MonotonicClock.now() - started < 1_000_000_000)
                try await Task.sleep(for: .milliseconds(25))
            }
            try await offThePool { try redis.server.restart() }
            // No persistence: the key is gone, but the client is back by itself.
            let read = try await retrying(within: .seconds(5)) { try await redis.client.send(["GET", .string(key)]) }
            #expect(read.isNull)
        }
    }

    @Test func aSuccessfulPingMeansEveryLoopHasItsConnectionBack() async throws {
        try await RedisTestHarness.with(loops: 2) { redis in
            await offThePool { redis.server.kill() }
            // Let each loop's connection notice, fail and back off on its own schedule.
            for loop in redis.group.loops {
                _ = await Task(executorPreference: loop) { try? await redis.client.send(["PING"]) }.value
            }
            try await Task.sleep(for: .milliseconds(300))
            try await offThePool { try redis.server.restart() }
            try await retrying(within: .seconds(5)) { try await redis.client.ping() }
            // Right after the ping, a command from any loop goes through.
            for loop in redis.group.loops {
                let reply = try await Task(executorPreference: loop) { try await redis.client.send(["PING"]) }.value
                #expect(reply.string == "PONG")
            }
        }
    }

    @Test func aHungRedisFailsCommandsWithinTheTimeoutAndIsUsedAgainWhenItWakes() async throws {
        try await RedisTestHarness.with(configure: {
            $0.commandTimeout = .milliseconds(200)
            $0.connectTimeout = .milliseconds(300)
        }) { redis in
            let key = redis.key("k")
            _ = try await redis.client.send(["SET", .string(key), "v"])
            redis.server.pause()
            for _ in 0..<5 {
                let started = MonotonicClock.now()
                switch await redis.outcome(["GET", .string(key)]) {
                case .success: Issue.record("a frozen Redis cannot answer")
                case .failure(let error): #expect(error.isServerUnavailable, "\(error)")
                }
                #expect(MonotonicClock.now() - started < 1_000_000_000)
            }
            redis.server.resume()
            let read = try await retrying(within: .seconds(5)) { try await redis.client.send(["GET", .string(key)]) }
            #expect(read.string == "v")
        }
    }

    /// The command past its deadline is a `BLPOP` that Redis answers only
    /// once its list gets a value (or after 30 s), and a second caller's
    /// `GET` goes out behind it in the same turn of the loop: no sleep of
    /// Redis's races the 200 ms deadline (with `DEBUG SLEEP 0.6`, a client
    /// loop stalled across both read the late reply before its timer), and
    /// no sleep of the test's orders the two calls. A client that kept the
    /// connection would hand the `BLPOP`'s reply, made when the value is
    /// pushed, to a later caller.
    @Test func aCommandPastItsDeadlineNeverLeaksItsReplyToALaterCaller() async throws {
        try await RedisTestHarness.with(configure: { $0.commandTimeout = .milliseconds(200) }) { redis in
            let key = redis.key("k")
            let list = redis.key("list")
            _ = try await redis.client.send(["SET", .string(key), "mine"])
            let (blocked, behind) = await redis.sendBackToBack(["BLPOP", .string(list), "30"], ["GET", .string(key)])
            guard case .failure(let timeout) = blocked else { Issue.record("the BLPOP must time out"); return }
            #expect(timeout.kind == .timeout)
            // The GET pipelined behind it failed with the connection, and says it may have run.
            guard case .failure(let lost) = behind else { Issue.record("the command behind must fail, not get a late reply"); return }
            #expect(lost.kind == .unreachable || lost.kind == .timeout)
            // The timed-out connection is closed: nothing waits on the list any more…
            let port = redis.server.port
            let unblocked = await eventually(within: .seconds(10)) {
                await offThePool { RedisAdminClient.fields(RedisAdminClient.call(port: port, "INFO", "clients"))["blocked_clients"] == "0" }
            }
            #expect(unblocked, "the connection of the timed-out BLPOP still waits in Redis")
            // …so a value pushed now makes no late reply, and every reply goes to its own command.
            #expect(await offThePool { RedisAdminClient.call(port: port, "RPUSH", list, "late")?.int } == 1)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<50 {
                    group.addTask {
                        let own = redis.key("after\(index)")
                        _ = try await redis.client.send(["SET", .string(own), .integer(Int64(index))])
                        #expect(try await redis.client.send(["GET", .string(own)]).int == index)
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await redis.client.send(["GET", .string(key)]).string == "mine")
            #expect(await offThePool { RedisAdminClient.call(port: port, "LLEN", list)?.int } == 1, "the late value was taken")
        }
    }

    /// The pipeline waits on a `BLPOP` that Redis answers only after 30 s
    /// (a client that never timed out would get its replies then, and fail
    /// the test rather than hang it): the deadline races no sleep of
    /// Redis's. With `DEBUG SLEEP 0.5` against the 200 ms timeout, a client
    /// loop stalled across both (a busy machine) read every reply at once
    /// and the pipeline succeeded.
    @Test func aPipelinePastItsDeadlineFailsWholeAndLeaksNoReply() async throws {
        try await RedisTestHarness.with(configure: { $0.commandTimeout = .milliseconds(200) }) { redis in
            let key = redis.key("k")
            let list = redis.key("list")
            _ = try await redis.client.send(["SET", .string(key), "mine"])
            do throws(RedisError) {
                _ = try await redis.client.pipeline([["GET", .string(key)], ["BLPOP", .string(list), "30"], ["GET", .string(key)]])
                Issue.record("a pipeline that outlives its deadline must fail")
            } catch {
                #expect(error.kind == .timeout)
            }
            let other = try RedisTestHarness.makeClient(server: redis.server, group: redis.group) { $0.clientName = "other" }
            // The timed-out connection is closed: nothing waits on the list any more…
            let unblocked = await eventually(within: .seconds(10)) {
                (try? await other.send(["INFO", "clients"]).string)?.contains("blocked_clients:0\r\n") == true
            }
            #expect(unblocked, "the connection of the timed-out pipeline still waits in Redis")
            // …so the value pushed now stays in the list: no late reply is made at all.
            _ = try await other.send(["RPUSH", .string(list), "late"])
            let replies = try await retrying(within: .seconds(5)) {
                try await redis.client.pipeline([["PING"], ["GET", .string(key)]])
            }
            #expect(replies.map { try? $0.get().string } == ["PONG", "mine"])
            #expect(try await other.send(["LLEN", .string(list)]).int == 1)
            await other.shutdown()
        }
    }

    /// The cancelled call is a `BLPOP` that Redis holds until its list gets
    /// a value: it is cancelled while Redis counts it blocked (awaited), not
    /// after a 50 ms sleep that a `DEBUG SLEEP 0.3` could outlast on a busy
    /// machine. It is answered `cancelled` at once, before Redis has any reply
    /// for it; the reply made when the value comes is not the next caller's.
    /// (Pushing before the cancelled call had its answer raced the cancel on a
    /// busy machine: a reply read first is the caller's, rightly.)
    @Test func aCancelledCallerGetsCancelledAndOthersAreServedAfterwards() async throws {
        try await RedisTestHarness.with(configure: { $0.commandTimeout = .seconds(30) }) { redis in
            let list = redis.key("list")
            let port = redis.server.port
            let waiting = Task { try await redis.client.send(["BLPOP", .string(list), "30"]) }
            let blocked = await eventually(within: .seconds(10)) {
                await offThePool { RedisAdminClient.fields(RedisAdminClient.call(port: port, "INFO", "clients"))["blocked_clients"] == "1" }
            }
            try #require(blocked, "the BLPOP never reached Redis")
            waiting.cancel()
            do {
                _ = try await waiting.value
                Issue.record("the cancelled call must not return a reply")
            } catch let error as RedisError {
                #expect(error.kind == .cancelled)
            }
            // A value for the BLPOP: its reply comes, and is read and dropped.
            #expect(await offThePool { RedisAdminClient.call(port: port, "RPUSH", list, "late")?.int } == 1)
            // The next caller on the same connection gets its own reply.
            let read = try await redis.client.send(["PING"])
            #expect(read.string == "PONG")
        }
    }

    @Test func aClientThatStartsWhileRedisIsDownConnectsOnceItIsUp() async throws {
        let server = try await offThePool { try RedisServerFixture.start() }
        await offThePool { server.stop() }
        let group = try EventLoopGroup(loopCount: 1)
        defer { group.shutdown() }
        let client = try RedisTestHarness.makeClient(server: server, group: group)
        do throws(RedisError) {
            try await client.ping()
            Issue.record("Redis is down")
        } catch {
            #expect(error.kind == .unreachable)
        }
        try await offThePool { try server.restart() }
        let answered = await eventually { (try? await client.ping()) != nil }
        #expect(answered)
        await client.shutdown()
        await offThePool { server.stop() }
    }
}
