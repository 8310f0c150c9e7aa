import LockdTestSupport
import Testing

/// A fresh lockd readies Redis as it starts, not at its first requests: each
/// event loop's connection past its handshake and the scripts' library
/// loaded — else a loaded host answered a fresh lockd's first requests 503
/// (connect, handshake and library load inside the 500 ms command timeout).
/// Seen from Redis, with no request sent to lockd: every loop's connection
/// has run a script. Start-up never waits for it (PRODUCT.md: lockd starts
/// and serves while Redis is down; `/readyz` is 503 until Redis answers).
@Suite struct StartUpPreparationTests {
    /// lockd's event loops in these tests: each has its own Redis connection.
    static let loops = 3

    @Test func everyLoopsConnectionHasRunAScriptBeforeTheFirstRequest() async throws {
        let redis = try await offThePool { try RedisServerFixture.start() }
        let lockd = try await LockdProcess.start(["--redis", redis.url, "--event-loops", "\(Self.loops)"])
        await expectEveryLoopReady(redis, lockd)
        // The first requests, one per loop and more, all served.
        let replies = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<(2 * Self.loops) {
                group.addTask { try await lockd.request("POST", "/locks/\(uniqueLockName())").status }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(replies == Array(repeating: 201, count: 2 * Self.loops), "\(lockd.output.suffix(2_000))")
        await lockd.stop()
        await offThePool { redis.stop() }
    }

    @Test func aRedisDownAtStartIsReadiedWhenItComes() async throws {
        let redis = try await offThePool { try RedisServerFixture.start() }
        await offThePool { redis.kill() }
        let lockd = try await LockdProcess.start(["--redis", redis.url, "--event-loops", "\(Self.loops)"])
        #expect(try await lockd.request("GET", "/readyz").status == 503)
        #expect(try await lockd.request("GET", "/healthz").status == 200)

        try await offThePool { try redis.restart() }
        await expectEveryLoopReady(redis, lockd)
        let ready = try await eventually(within: .seconds(10)) { try await lockd.request("GET", "/readyz").status == 200 }
        #expect(ready)
        await lockd.stop()
        await offThePool { redis.stop() }
    }

    /// Waits until Redis shows lockd's connections having run a script (by
    /// `FCALL`, or `EVALSHA`/`EVAL` where Redis has no functions), at least
    /// one per loop, with no request sent.
    private func expectEveryLoopReady(_ redis: RedisServerFixture, _ lockd: LockdProcess, sourceLocation: SourceLocation = #_sourceLocation) async {
        var clients = ""
        let ready = await eventually(within: .seconds(30), every: .milliseconds(50)) {
            clients = await offThePool { (try? RedisAdminClient(port: redis.port).call(["CLIENT", "LIST"]).string) ?? "" }
            return Self.scriptRunners(in: clients) >= Self.loops
        }
        #expect(ready, "lockd's connections, without a request: \(clients)\n\(lockd.output.suffix(2_000))", sourceLocation: sourceLocation)
    }

    /// lockd's connections (`name=lockd`) whose last command ran a script.
    static func scriptRunners(in clientList: String) -> Int {
        clientList.split(separator: "\n").filter { line in
            let fields = line.split(separator: " ")
            return fields.contains("name=lockd")
                && fields.contains { ["cmd=fcall", "cmd=fcall_ro", "cmd=evalsha", "cmd=eval"].contains($0) }
        }.count
    }
}
