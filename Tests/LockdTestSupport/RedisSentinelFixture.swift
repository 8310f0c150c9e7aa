import Foundation
import LockdTransport
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A Redis Sentinel deployment for integration tests: one master, two
/// replicas and three `redis-sentinel`s on free loopback ports, tuned so a
/// failover takes a few seconds (`down-after-milliseconds 600`,
/// `failover-timeout 2000`), started and stopped by the tests by PID.
///
/// ```swift
/// let sentinel = try RedisSentinelFixture.shared()
/// let client = RedisClient(configuration: try RedisConfiguration(url: sentinel.url), eventLoopGroup: group, logger: logger)
/// let old = try sentinel.killMaster()
/// let promoted = try sentinel.waitForPromotion(replacing: old)
/// ```
///
/// The master moves between tests: ask ``masterPort()`` rather than assuming one.
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

    private static let sharedFixture = Mutex<RedisSentinelFixture?>(nil)

    /// One deployment for the whole test process, started at first use and
    /// stopped when the process exits; tests that fail over leave it with
    /// a master and two replicas again (see ``restoreReplica(port:)``).
    public static func shared() throws -> RedisSentinelFixture {
        try sharedFixture.withLock { existing in
            if let existing { return existing }
            let fixture = try start()
            existing = fixture
            atexit { RedisSentinelFixture.sharedFixture.withLock { $0?.stop() } }
            return fixture
        }
    }

    /// Starts a master and two replicas, waits until both replicate, then
    /// three sentinels, and waits until each knows both replicas and the
    /// other two sentinels (so that a failover can be agreed on).
    /// - Throws: ``RedisServerFixtureError`` when something does not come up within 20 s.
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
            try fixture.waitUntilSentinelsAgree(within: .seconds(20))
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
        guard named.count == 1, let port = named.first,
              RedisAdminClient.call(port: port, "ROLE")?.array?.first?.string == "master" else { return nil }
        return port
    }

    /// What the sentinel on `port` knows of the master (`SENTINEL MASTER`).
    private func sentinelView(_ port: UInt16) -> [String: String]? {
        guard let pairs = RedisAdminClient.call(port: port, "SENTINEL", "MASTER", masterName)?.pairs else { return nil }
        var fields: [String: String] = [:]
        for pair in pairs { if let key = pair.key.string, let value = pair.value.string { fields[key] = value } }
        return fields
    }

    /// The server listening on `port`.
    public func server(port: UInt16) -> RedisServerFixture? {
        servers.first { $0.port == port }
    }

    /// SIGKILLs the current master.
    /// - Returns: its port.
    public func killMaster() throws -> UInt16 {
        guard let port = masterPort(), let server = server(port: port) else { throw RedisServerFixtureError("no master to kill") }
        noteReplicas()
        server.kill()
        return port
    }

    /// Waits until one of the servers that were replicas when the master was
    /// killed or failed over says it is master — the moment of the promotion.
    /// - Returns: its port and when it was first seen as master.
    public func waitForPromotion(replacing old: UInt16, within timeout: Duration = .seconds(20)) throws -> (port: UInt16, at: ContinuousClock.Instant) {
        let candidates = replicasBeforeChange.withLock { $0 }
        var promoted: UInt16?
        try waitUntil("a replica of \(old) is promoted", within: timeout, every: .milliseconds(5)) {
            promoted = candidates.first { port in
                port != old && RedisAdminClient.call(port: port, "ROLE")?.array?.first?.string == "master"
            }
            return promoted != nil
        }
        return (promoted ?? 0, ContinuousClock.now)
    }

    /// Records which servers are replicas now, before a failover.
    private func noteReplicas() {
        let replicas = servers.map(\.port).filter { RedisAdminClient.call(port: $0, "ROLE")?.array?.first?.string == "slave" }
        replicasBeforeChange.withLock { $0 = replicas }
    }

    /// Asks a sentinel for a graceful failover (`SENTINEL FAILOVER`), retrying
    /// while a previous one is still settling.
    public func failover(within timeout: Duration = .seconds(20)) throws {
        noteReplicas()
        try waitUntil("SENTINEL FAILOVER is accepted", within: timeout, every: .milliseconds(100)) {
            sentinels.contains { RedisAdminClient.call(port: $0.port, "SENTINEL", "FAILOVER", masterName)?.string == "OK" }
        }
    }

    /// Brings a killed server back and settles the deployment (``settle(within:)``).
    public func restoreReplica(port: UInt16, within timeout: Duration = .seconds(30)) throws {
        try server(port: port)?.restart()
        try settle(within: timeout)
    }

    /// Makes every server but the master a replica of it, and waits until
    /// every sentinel sees the master with two replicas. Left to itself,
    /// Sentinel turns an old master that is back (or was failed over while
    /// it ran) into a replica only after it has run as master for 8 s.
    public func settle(within timeout: Duration = .seconds(30)) throws {
        var master: UInt16?
        try waitUntil("the sentinels agree on a master, no failover in progress", within: timeout) {
            master = masterPort()
            return master != nil
        }
        for server in servers where server.port != master {
            let replication = RedisAdminClient.fields(RedisAdminClient.call(port: server.port, "INFO", "replication"))
            if replication["role"] != "slave" || replication["master_port"] != master.map(String.init) {
                _ = RedisAdminClient.call(port: server.port, "REPLICAOF", "127.0.0.1", String(master ?? 0))
            }
        }
        try waitUntil("every replica replicates", within: timeout, every: .milliseconds(50)) {
            servers.allSatisfy { server in
                server.port == master
                    || RedisAdminClient.fields(RedisAdminClient.call(port: server.port, "INFO", "replication"))["master_link_status"] == "up"
            }
        }
        try waitUntilSentinelsAgree(within: timeout)
    }

    /// Waits until every sentinel names the same master, which says it is
    /// master, knows two replicas up and two other sentinels.
    public func waitUntilSentinelsAgree(within timeout: Duration) throws {
        try waitUntil("the sentinels agree on a master with two replicas", within: timeout, every: .milliseconds(50)) {
            guard masterPort() != nil else { return false }
            return sentinels.allSatisfy { sentinel in
                guard let fields = sentinelView(sentinel.port), fields["num-slaves"] == "2", fields["num-other-sentinels"] == "2",
                      let replicas = RedisAdminClient.call(port: sentinel.port, "SENTINEL", "REPLICAS", masterName)?.array else { return false }
                // Both replicas connected and done reconfiguring, as the sentinel sees them.
                return replicas.count == 2 && replicas.allSatisfy { replica in
                    replica.pairs?.first { $0.key.string == "flags" }?.value.string == "slave"
                }
            }
        }
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
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lockd-sentinel-\(port)-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
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
                                           arguments: [configuration.path])
            do {
                try waitUntil("redis-sentinel on \(port) answers", within: .seconds(10)) {
                    guard process.isRunning else { return true }
                    return RedisAdminClient.call(port: port, "PING")?.string == "PONG"
                }
                if process.isRunning {
                    self.port = port
                    self.directory = directory
                    self.process = process
                    return
                }
                lastError = RedisServerFixtureError("redis-sentinel exited at start")
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
