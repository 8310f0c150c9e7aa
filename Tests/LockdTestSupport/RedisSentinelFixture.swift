import Foundation
import LockdRedis
import LockdTransport
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A Redis Sentinel deployment for integration tests: one master, two
/// replicas and three `redis-sentinel`s on free loopback ports, tuned so a
/// failover takes a few seconds (`down-after-milliseconds 600`,
/// `failover-timeout 2000`), started and stopped by the test by PID.
///
/// ```swift
/// try await RedisSentinelFixture.with { sentinel in
///     let client = RedisClient(configuration: try RedisConfiguration(url: sentinel.url), eventLoopGroup: group, logger: logger)
///     let old = try await offThePool { try sentinel.killMaster() }
///     let promoted = try await offThePool { try sentinel.waitForPromotion(replacing: old) }
/// }
/// ```
///
/// Each test gets a deployment of its own (``with(_:)``): a test that fails
/// over leaves one that the next must not inherit, and suites that run at
/// once must not fail over each other's master.
public final class RedisSentinelFixture: Sendable {
    /// The name the sentinels monitor the master under.
    public let masterName = "lockd-test"
    /// The three Redis servers; which one is master changes with failovers.
    public let servers: [RedisServerFixture]
    private let sentinels: [SentinelProcess]
    private let replicasBeforeChange = Mutex<[UInt16]>([])

    /// `redis+sentinel://127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3/lockd-test`.
    public var url: String {
        "redis+sentinel://\(sentinels.map { "127.0.0.1:\($0.port)" }.joined(separator: ","))/\(masterName)"
    }

    /// The sentinels' ports.
    public var sentinelPorts: [UInt16] { sentinels.map(\.port) }

    /// Starts a deployment off Swift concurrency's pool, runs `body` with it,
    /// and stops it whether or not `body` threw.
    public static func with<Result: Sendable>(_ body: (RedisSentinelFixture) async throws -> Result) async throws -> Result {
        let fixture = try await offThePool { try start() }
        do {
            let result = try await body(fixture)
            await offThePool { fixture.stop() }
            return result
        } catch {
            await offThePool { fixture.stop() }
            throw error
        }
    }

    /// Starts a master and two replicas, waits until both replicate, then
    /// three sentinels, and waits until each knows both replicas and the
    /// other two sentinels (so that a failover can be agreed on).
    /// - Throws: ``RedisServerFixtureError`` when something does not come up within 30 s.
    public static func start() throws -> RedisSentinelFixture {
        let master = try RedisServerFixture.start(arguments: RedisServerFixture.replicationArguments)
        var replicas: [RedisServerFixture] = []
        do {
            for _ in 0..<2 { replicas.append(try master.startReplica()) }
        } catch {
            for server in [master] + replicas { server.stop() }
            throw error
        }
        let servers = [master] + replicas
        var sentinels: [SentinelProcess] = []
        do {
            for _ in 0..<3 { sentinels.append(try SentinelProcess(masterName: "lockd-test", masterPort: master.port)) }
            let fixture = RedisSentinelFixture(servers: servers, sentinels: sentinels)
            try fixture.waitUntilSentinelsAgree(within: .seconds(30))
            return fixture
        } catch {
            for sentinel in sentinels { sentinel.stop() }
            for server in servers { server.stop() }
            throw error
        }
    }

    private init(servers: [RedisServerFixture], sentinels: [SentinelProcess]) {
        self.servers = servers
        self.sentinels = sentinels
    }

    /// Stops every sentinel and server.
    public func stop() {
        for sentinel in sentinels { sentinel.stop() }
        for server in servers { server.stop() }
    }

    /// The master's port: the server every sentinel names, with no failover
    /// in progress, that also says it is master; nil when there is none (or
    /// the sentinels do not agree yet).
    public func masterPort() -> UInt16? {
        var named: Set<UInt16> = []
        for sentinel in sentinels {
            guard let fields = sentinelView(sentinel.port), fields["flags"] == "master",
                  let port = fields["port"].flatMap({ UInt16($0) }) else { return nil }
            named.insert(port)
        }
        guard named.count == 1, let port = named.first, role(of: port) == "master" else { return nil }
        return port
    }

    /// What the sentinel on `port` knows of the master (`SENTINEL MASTER`).
    private func sentinelView(_ port: UInt16) -> [String: String]? {
        fields(RedisAdminClient.call(port: port, "SENTINEL", "MASTER", masterName))
    }

    /// What the sentinel on `port` knows of the replicas or of the other
    /// sentinels (`SENTINEL REPLICAS`, `SENTINEL SENTINELS`).
    private func sentinelList(_ port: UInt16, _ what: String) -> [[String: String]]? {
        RedisAdminClient.call(port: port, "SENTINEL", what, masterName)?.array?.compactMap(fields)
    }

    /// A map reply's (RESP2: a flat array's) string pairs.
    private func fields(_ reply: RESPValue?) -> [String: String]? {
        guard let pairs = reply?.pairs else { return nil }
        var fields: [String: String] = [:]
        for pair in pairs { if let key = pair.key.string, let value = pair.value.string { fields[key] = value } }
        return fields
    }

    /// What the server on `port` says it is (`ROLE`): "master", "slave", or nil.
    private func role(of port: UInt16) -> String? {
        RedisAdminClient.call(port: port, "ROLE")?.array?.first?.string
    }

    /// The server listening on `port`.
    public func server(port: UInt16) -> RedisServerFixture? {
        servers.first { $0.port == port }
    }

    /// Waits until the sentinels agree on a master (``masterPort()``), then SIGKILLs it.
    /// - Returns: its port.
    public func killMaster(within timeout: Duration = .seconds(30)) throws -> UInt16 {
        var master: UInt16?
        try waitUntil("the sentinels agree on a master to kill", within: timeout) {
            master = masterPort()
            return master != nil
        }
        guard let port = master, let server = server(port: port) else { throw RedisServerFixtureError("no master to kill") }
        noteReplicas()
        server.kill()
        return port
    }

    /// Waits until one of the servers that were replicas when the master was
    /// killed says it is master — the moment of the promotion.
    /// - Returns: its port and when it was first seen as master.
    public func waitForPromotion(replacing old: UInt16, within timeout: Duration = .seconds(30)) throws -> (port: UInt16, at: ContinuousClock.Instant) {
        var promoted: UInt16?
        do {
            try waitUntil("a replica of \(old) is promoted", within: timeout, every: .milliseconds(5)) {
                promoted = promotedReplica(replacing: old)
                return promoted != nil
            }
        } catch {
            throw RedisServerFixtureError("\(error)\n\(diagnosis())")
        }
        return (promoted ?? 0, ContinuousClock.now)
    }

    /// A server that was a replica before the change (``noteReplicas()``) and says it is master now.
    private func promotedReplica(replacing old: UInt16) -> UInt16? {
        replicasBeforeChange.withLock { $0 }.first { $0 != old && role(of: $0) == "master" }
    }

    /// Records which servers are replicas now, before a failover.
    private func noteReplicas() {
        let replicas = servers.map(\.port).filter { role(of: $0) == "slave" }
        replicasBeforeChange.withLock { $0 = replicas }
    }

    /// Has a sentinel fail the master over gracefully (`SENTINEL FAILOVER`)
    /// and waits until a replica is promoted.
    ///
    /// First waits until every sentinel knows the master, both replicas
    /// linked and the other sentinels (``waitUntilSentinelsAgree(within:)``).
    /// A sentinel refuses while it knows no good replica (`-NOGOODSLAVE`) or
    /// runs a failover already (`-INPROG`); one that accepted can still give
    /// up (`-failover-abort-*`, as when it stalls past `failover-timeout`):
    /// each of these is asked again until the deadline.
    /// - Returns: the promoted replica's port and when it was first seen as
    ///   master, once the sentinel that runs the failover has seen it too.
    /// - Throws: ``RedisServerFixtureError`` with each sentinel's view and log when no replica is promoted within `timeout`.
    public func failover(within timeout: Duration = .seconds(60)) throws -> (port: UInt16, at: ContinuousClock.Instant) {
        let deadline = ContinuousClock.now + timeout
        try waitUntilSentinelsAgree(within: timeout)
        guard let old = masterPort() else { throw RedisServerFixtureError("no master to fail over\n\(diagnosis())") }
        noteReplicas()
        var refusals: [String] = []
        while ContinuousClock.now < deadline {
            for sentinel in sentinels {
                guard let reply = RedisAdminClient.call(port: sentinel.port, "SENTINEL", "FAILOVER", masterName) else { continue }
                guard reply.string == "OK" else {
                    refusals.append("\(sentinel.port): \(reply)")
                    continue
                }
                if let promotion = followFailover(by: sentinel, from: old, until: deadline) { return promotion }
                refusals.append("\(sentinel.port): accepted, then gave up")
                break
            }
            usleep(100_000)
        }
        throw RedisServerFixtureError("""
            timed out after \(timeout): no replica of \(old) promoted by SENTINEL FAILOVER \
            (answers: \(refusals.suffix(6).joined(separator: "; ")))
            \(diagnosis())
            """)
    }

    /// Follows a failover `sentinel` accepted: the promoted replica, once the
    /// sentinel names it master (`get-master-addr-by-name`), with when it
    /// was first seen to say it is master; nil when the sentinel gives up
    /// first (no failover in progress, `old` still its master) or `deadline`
    /// passes.
    ///
    /// A sentinel names the promoted replica only once it has seen the
    /// promotion (`+failover-state-reconf-slaves`): from there the failover
    /// goes through. Before, it can still give up (`-failover-abort-slave-timeout`,
    /// when the promotion is not seen within `failover-timeout` on a busy
    /// machine), and then turns the replica it promoted back into a replica
    /// of `old`: the deployment never moved, and a client rightly stays on `old`.
    private func followFailover(by sentinel: SentinelProcess, from old: UInt16, until deadline: ContinuousClock.Instant)
        -> (port: UInt16, at: ContinuousClock.Instant)?
    {
        var firstSeen: [UInt16: ContinuousClock.Instant] = [:]
        var result: (port: UInt16, at: ContinuousClock.Instant)?
        try? waitUntil("the failover by sentinel \(sentinel.port) promotes a replica", within: deadline - ContinuousClock.now, every: .milliseconds(5)) {
            let now = ContinuousClock.now
            for port in replicasBeforeChange.withLock({ $0 }) where port != old && firstSeen[port] == nil && role(of: port) == "master" {
                firstSeen[port] = now
            }
            if let named = namedMaster(by: sentinel.port), named != old, let at = firstSeen[named] {
                result = (named, at)
                return true
            }
            guard let view = sentinelView(sentinel.port) else { return false }
            return view["port"] == String(old) && view["flags"]?.contains("failover_in_progress") == false
        }
        return result
    }

    /// The port of the master the sentinel on `port` names to clients (`SENTINEL get-master-addr-by-name`).
    private func namedMaster(by port: UInt16) -> UInt16? {
        RedisAdminClient.call(port: port, "SENTINEL", "get-master-addr-by-name", masterName)?.array?.last?.string.flatMap { UInt16($0) }
    }

    /// Waits until every sentinel names the same master, which says it is
    /// master, and sees both replicas linked and the other two sentinels up:
    /// what a sentinel needs to agree on, and carry out, a failover.
    public func waitUntilSentinelsAgree(within timeout: Duration) throws {
        do {
            try waitUntil("the sentinels agree on a master with two replicas", within: timeout, every: .milliseconds(50)) {
                guard masterPort() != nil else { return false }
                return sentinels.allSatisfy { sentinel in
                    guard let replicas = sentinelList(sentinel.port, "REPLICAS"), let others = sentinelList(sentinel.port, "SENTINELS"),
                          sentinel.isOutOfTilt else { return false }
                    return replicas.count == 2 && replicas.allSatisfy { $0["flags"] == "slave" && $0["master-link-status"] == "ok" }
                        && others.count == 2 && others.allSatisfy { $0["flags"] == "sentinel" }
                }
            }
        } catch {
            throw RedisServerFixtureError("\(error)\n\(diagnosis())")
        }
    }

    /// Each sentinel's view of the master and the end of its log, to explain a failure.
    private func diagnosis() -> String {
        sentinels.map { sentinel in
            let view = sentinelView(sentinel.port) ?? [:]
            return "sentinel \(sentinel.port): master \(view["port"] ?? "?") flags \(view["flags"] ?? "?"), log:\n\(sentinel.logTail)"
        }.joined(separator: "\n")
    }
}

/// One `redis-sentinel` with its own directory and configuration file
/// (Sentinel rewrites it as it learns the deployment).
final class SentinelProcess: Sendable {
    let port: UInt16
    private let directory: URL
    private let process: ChildProcess

    init(masterName: String, masterPort: UInt16) throws {
        var lastError: (any Error)?
        for _ in 0..<3 {
            let port = try RedisServerFixture.freePort()
            let directory = try ScratchDirectory.make("lockd-sentinel-\(port)")
            let configuration = directory.appendingPathComponent("sentinel.conf")
            try """
                port \(port)
                bind 127.0.0.1
                daemonize no
                dir \(directory.path)
                logfile \(directory.appendingPathComponent("sentinel.log").path)
                sentinel monitor \(masterName) 127.0.0.1 \(masterPort) 2
                sentinel down-after-milliseconds \(masterName) 600
                sentinel failover-timeout \(masterName) 2000
                sentinel parallel-syncs \(masterName) 2

                """.write(to: configuration, atomically: true, encoding: .utf8)
            let process = try ChildProcess(executable: RedisServerFixture.executable("redis-sentinel", package: "redis-sentinel").path,
                                           arguments: [configuration.path], diesWithTestProcess: true)
            do {
                try waitUntil("redis-sentinel on \(port) answers", within: .seconds(10)) {
                    guard process.isRunning else { return true }
                    return RedisAdminClient.call(port: port, "PING")?.string == "PONG"
                }
                // A sentinel whose timer runs late by more than 2 s (a loaded
                // machine, a slow fsync of its configuration) enters TILT and
                // acts on nothing — not even a failover it accepts — for
                // 30 s. Tests still see TILT, but over in 1 s.
                if process.isRunning, RedisAdminClient.call(port: port, "SENTINEL", "DEBUG", "tilt-period", "1000")?.string == "OK" {
                    self.port = port
                    self.directory = directory
                    self.process = process
                    return
                }
                lastError = RedisServerFixtureError("redis-sentinel exited at start or refused SENTINEL DEBUG")
            } catch {
                lastError = error
            }
            // Another process may have taken the port between probe and start.
            process.terminate(with: SIGKILL)
            try? FileManager.default.removeItem(at: directory)
        }
        throw lastError ?? RedisServerFixtureError("redis-sentinel did not start")
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }

    func stop() {
        process.terminate(with: SIGTERM)
    }

    /// Whether the sentinel answers and is not in TILT mode (`INFO sentinel`).
    var isOutOfTilt: Bool {
        RedisAdminClient.fields(RedisAdminClient.call(port: port, "INFO", "sentinel"))["sentinel_tilt"] == "0"
    }

    /// The last lines of the sentinel's log, to explain a failure.
    var logTail: String {
        let log = (try? String(contentsOf: directory.appendingPathComponent("sentinel.log"), encoding: .utf8)) ?? ""
        return log.split(separator: "\n").suffix(25).joined(separator: "\n")
    }
}

/// Polls `condition` (blocking) until it holds.
/// - Throws: ``RedisServerFixtureError`` naming `what` when it does not within `timeout`.
func waitUntil(_ what: String, within timeout: Duration, every interval: Duration = .milliseconds(20), _ condition: () throws -> Bool) throws {
    let deadline = ContinuousClock.now + timeout
    while true {
        if try condition() { return }
        guard ContinuousClock.now < deadline else { throw RedisServerFixtureError("timed out after \(timeout): \(what)") }
        usleep(UInt32(clamping: interval.components.seconds * 1_000_000 + interval.components.attoseconds / 1_000_000_000_000))
    }
}
