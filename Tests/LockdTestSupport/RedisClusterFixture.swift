import Foundation
import LockdRedis
import LockdTransport
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A Redis Cluster for integration tests: three masters and three replicas
/// (`--cluster-enabled yes`, `cluster-node-timeout 1000`) on free loopback
/// ports, joined with `redis-cli --cluster create … --cluster-replicas 1`,
/// started and stopped by the tests by PID.
///
/// ```swift
/// let cluster = try RedisClusterFixture.shared()
/// let client = RedisClient(configuration: try RedisConfiguration(url: cluster.url), eventLoopGroup: group, logger: logger)
/// let owner = try #require(cluster.masterPort(forSlot: RedisHashSlot(key: "orders")))
/// ```
///
/// Which node is master changes with failovers: ask ``masterPort(forSlot:)``
/// and ``masterPorts()`` rather than assuming one.
public final class RedisClusterFixture: Sendable {
    /// The six nodes.
    public let nodes: [RedisServerFixture]

    /// `redis+cluster://` naming the first three nodes as seeds.
    public var url: String {
        "redis+cluster://\(nodes.prefix(3).map { "127.0.0.1:\($0.port)" }.joined(separator: ","))"
    }

    private static let sharedFixture = Mutex<RedisClusterFixture?>(nil)

    /// One cluster for the whole test process, started at first use and
    /// stopped when the process exits. Tests that kill a node bring it back
    /// (``restart(port:)``) so the next test finds three masters with a replica each.
    public static func shared() throws -> RedisClusterFixture {
        try sharedFixture.withLock { existing in
            if let existing { return existing }
            let fixture = try start()
            existing = fixture
            atexit { RedisClusterFixture.sharedFixture.withLock { $0?.nodes.forEach { $0.discard() } } }
            return fixture
        }
    }

    /// Starts six nodes, joins them with `redis-cli --cluster create`, and
    /// waits until every node sees every slot served and every replica in sync.
    /// - Throws: ``RedisServerFixtureError`` when the cluster does not form within 30 s.
    public static func start() throws -> RedisClusterFixture {
        var nodes: [RedisServerFixture] = []
        do {
            for _ in 0..<6 {
                nodes.append(try RedisServerFixture.start(arguments: [
                    "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "1000",
                    // Promote a replica however stale: these tests kill masters on purpose.
                    "--cluster-replica-validity-factor", "0",
                ] + RedisServerFixture.replicationArguments))
            }
            let output = FileManager.default.temporaryDirectory.appendingPathComponent("lockd-cluster-create-\(UUID().uuidString).log")
            defer { try? FileManager.default.removeItem(at: output) }
            let create = try ChildProcess(
                executable: RedisServerFixture.executable("redis-cli", package: "redis-tools").path,
                arguments: ["--cluster", "create"] + nodes.map { "127.0.0.1:\($0.port)" } + ["--cluster-replicas", "1", "--cluster-yes"],
                outputPath: output.path, diesWithTestProcess: true)
            guard create.waitForExit(timeout: .seconds(60)) == .exited(0) else {
                create.terminate(with: SIGKILL)
                let log = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
                throw RedisServerFixtureError("redis-cli --cluster create failed: \(log.suffix(800))")
            }
            let fixture = RedisClusterFixture(nodes: nodes)
            try fixture.waitUntilHealthy(within: .seconds(30))
            return fixture
        } catch {
            for node in nodes { node.stop() }
            throw error
        }
    }

    private init(nodes: [RedisServerFixture]) {
        self.nodes = nodes
    }

    /// Stops every node.
    public func stop() {
        for node in nodes { node.stop() }
    }

    /// The node listening on `port`.
    public func node(port: UInt16) -> RedisServerFixture? {
        nodes.first { $0.port == port }
    }

    /// Each master's port and slot ranges, as a live node's `CLUSTER SLOTS` says.
    public func masterPorts() -> [UInt16: [ClosedRange<Int>]] {
        for node in nodes {
            guard let ranges = RedisAdminClient.call(port: node.port, "CLUSTER", "SLOTS")?.array, !ranges.isEmpty else { continue }
            var masters: [UInt16: [ClosedRange<Int>]] = [:]
            for range in ranges {
                guard let fields = range.array, fields.count >= 3, let start = fields[0].int, let end = fields[1].int,
                      let port = fields[2].array?[1].int.flatMap({ UInt16(exactly: $0) }) else { continue }
                masters[port, default: []].append(start...end)
            }
            return masters
        }
        return [:]
    }

    /// The port of the master serving `slot`.
    public func masterPort(forSlot slot: RedisHashSlot) -> UInt16? {
        masterPorts().first { $0.value.contains { $0.contains(Int(slot.value)) } }?.key
    }

    /// A node's cluster id (`CLUSTER MYID`).
    public func nodeID(port: UInt16) throws -> String {
        guard let id = RedisAdminClient.call(port: port, "CLUSTER", "MYID")?.string else { throw RedisServerFixtureError("no id from \(port)") }
        return id
    }

    /// The port of a replica of the master on `port`.
    public func replicaPort(of master: UInt16) throws -> UInt16 {
        let id = try nodeID(port: master)
        guard let replicas = RedisAdminClient.call(port: master, "CLUSTER", "REPLICAS", id)?.array,
              let line = replicas.first?.string,
              let address = line.split(separator: " ").dropFirst().first,   // "127.0.0.1:7001@17001"
              let port = address.split(separator: "@").first?.split(separator: ":").last.flatMap({ UInt16($0) })
        else { throw RedisServerFixtureError("the master on \(master) has no replica") }
        return port
    }

    /// Waits until `replica` has applied everything the master on `master`
    /// has written so far (its replication offset reaches the master's).
    ///
    /// Not `WAIT`: on a connection that wrote nothing it counts replicas
    /// that have acknowledged nothing in particular, and answers at once.
    public func waitUntilReplicated(master: UInt16, to replica: UInt16, within timeout: Duration = .seconds(30)) throws {
        guard let written = Self.replicationOffset(port: master) else { throw RedisServerFixtureError("no replication offset from \(master)") }
        try waitUntil("\(replica) has replicated \(master) up to offset \(written)", within: timeout) {
            (Self.replicationOffset(port: replica) ?? -1) >= written
        }
    }

    /// A node's `master_repl_offset`: how far a master has written, or a replica has applied, its replication stream.
    private static func replicationOffset(port: UInt16) -> Int? {
        RedisAdminClient.fields(RedisAdminClient.call(port: port, "INFO", "replication"))["master_repl_offset"].flatMap { Int($0) }
    }

    /// Waits until `replica` says it is master.
    /// - Returns: when it was first seen as master.
    public func waitForPromotion(of replica: UInt16, within timeout: Duration = .seconds(20)) throws -> ContinuousClock.Instant {
        try waitUntil("\(replica) is promoted", within: timeout, every: .milliseconds(5)) {
            RedisAdminClient.call(port: replica, "ROLE")?.array?.first?.string == "master"
        }
        return ContinuousClock.now
    }

    /// Brings a killed node back (it rejoins as a replica of whoever took
    /// its slots) and waits until the cluster is healthy again.
    public func restart(port: UInt16) throws {
        try node(port: port)?.restart()
        try waitUntilHealthy(within: .seconds(30))
    }

    /// Waits until every node runs, says `cluster_state:ok` with every slot
    /// served and six nodes known, and every master has a replica in sync.
    public func waitUntilHealthy(within timeout: Duration) throws {
        try waitUntil("the cluster is healthy", within: timeout, every: .milliseconds(50)) {
            var masters = 0
            for node in nodes {
                let info = RedisAdminClient.fields(RedisAdminClient.call(port: node.port, "CLUSTER", "INFO"))
                guard info["cluster_state"] == "ok", info["cluster_slots_ok"] == "16384", info["cluster_known_nodes"] == "6",
                      info["cluster_slots_pfail"] == "0", info["cluster_slots_fail"] == "0" else { return false }
                let replication = RedisAdminClient.fields(RedisAdminClient.call(port: node.port, "INFO", "replication"))
                switch replication["role"] {
                case "master": masters += 1
                case "slave": guard replication["master_link_status"] == "up" else { return false }
                default: return false
                }
            }
            return masters == 3 && masterPorts().count == 3
        }
    }

    /// Moves `slot` and its keys from the master on `source` to the master on
    /// `target` the way `redis-cli --cluster reshard` does, stopping after
    /// `step`: `.importing` (both sides marked), `.migrated` (keys moved,
    /// ownership not yet given) or `.done` (every master told the new owner).
    public func migrate(slot: RedisHashSlot, from source: UInt16, to target: UInt16, through step: MigrationStep = .done) throws {
        let slotText = String(slot.value)
        let sourceID = try nodeID(port: source)
        let targetID = try nodeID(port: target)
        try expectOK(RedisAdminClient.call(port: target, "CLUSTER", "SETSLOT", slotText, "IMPORTING", sourceID))
        try expectOK(RedisAdminClient.call(port: source, "CLUSTER", "SETSLOT", slotText, "MIGRATING", targetID))
        guard step != .importing else { return }
        while true {
            guard let keys = RedisAdminClient.call(port: source, "CLUSTER", "GETKEYSINSLOT", slotText, "100")?.array else {
                throw RedisServerFixtureError("GETKEYSINSLOT failed on \(source)")
            }
            if keys.isEmpty { break }
            try moveKeys(keys.compactMap(\.string), from: source, to: target)
        }
        guard step != .migrated else { return }
        try finishMigration(slot: slot, to: target)
    }

    /// Moves `keys` (of a slot being migrated) from `source` to `target` with `MIGRATE`.
    public func moveKeys(_ keys: [String], from source: UInt16, to target: UInt16) throws {
        try expectOK(RedisAdminClient.call(port: source, ["MIGRATE", "127.0.0.1", String(target), "", "0", "5000", "KEYS"] + keys))
    }

    /// Gives `slot` to the master on `target` on every master (`CLUSTER SETSLOT … NODE`).
    public func finishMigration(slot: RedisHashSlot, to target: UInt16) throws {
        let targetID = try nodeID(port: target)
        try expectOK(RedisAdminClient.call(port: target, "CLUSTER", "SETSLOT", String(slot.value), "NODE", targetID))
        for master in masterPorts().keys where master != target {
            try expectOK(RedisAdminClient.call(port: master, "CLUSTER", "SETSLOT", String(slot.value), "NODE", targetID))
        }
    }

    /// How far ``migrate(slot:from:to:through:)`` goes.
    public enum MigrationStep: Sendable {
        case importing, migrated, done
    }

    private func expectOK(_ reply: RESPValue?) throws {
        guard reply?.string == "OK" else { throw RedisServerFixtureError("expected OK, got \(String(describing: reply))") }
    }
}

extension RedisAdminClient {
    /// ``call(port:_:timeout:)`` with the arguments as an array.
    static func call(port: UInt16, _ arguments: [String], timeout: Duration = .seconds(5)) -> RESPValue? {
        try? RedisAdminClient(port: port).call(arguments, timeout: timeout)
    }
}
