import LockdTransport
import Testing

@testable import LockdRedis

/// The cluster and Sentinel pieces as values, without sockets: redirections,
/// the slot map, routes, the retry policy, the refresh schedule and the
/// sentinel discovery steps.
@Suite struct RedisTopologyValuesTests {
    @Test func redirectionsAreParsed() {
        let node = RedisEndpoint(host: "10.0.0.1", port: 7000)
        #expect(RedisRedirect("MOVED 3999 127.0.0.1:6381", from: node)
            == RedisRedirect("MOVED 3999 127.0.0.1:6381", from: node))
        let moved = RedisRedirect("MOVED 3999 127.0.0.1:6381", from: node)
        #expect(moved?.kind == .moved && moved?.slot == RedisHashSlot(3999) && moved?.endpoint == RedisEndpoint(host: "127.0.0.1", port: 6381))
        let ask = RedisRedirect("ASK 12182 [::1]:7002", from: node)
        #expect(ask?.kind == .ask && ask?.endpoint == RedisEndpoint(host: "::1", port: 7002))
        #expect(RedisRedirect("MOVED 1 ::1:7002", from: node)?.endpoint == RedisEndpoint(host: "::1", port: 7002))
        // No host: the node that answered.
        #expect(RedisRedirect("MOVED 1 :7003", from: node)?.endpoint == RedisEndpoint(host: "10.0.0.1", port: 7003))
        for message in ["MOVED", "MOVED x 1.2.3.4:5", "MOVED 16384 h:1", "ASK 1 nohostport", "ERR MOVED 1 h:2", "MOVED 1 h:0", "TRYAGAIN 1 h:2"] {
            #expect(RedisRedirect(message, from: node) == nil, "\(message)")
        }
    }

    /// A CLUSTER SLOTS reply as Redis 7 sends it in RESP3.
    static func slotsReply(_ ranges: [(Int, Int, String, Int)]) -> RESPValue {
        .array(ranges.map { start, end, host, port in
            .array([
                .integer(Int64(start)), .integer(Int64(end)),
                .array([.bulkString(Array(host.utf8)), .integer(Int64(port)), .bulkString(Array("id\(port)".utf8)), .map([])]),
                .array([.bulkString(Array(host.utf8)), .integer(Int64(port + 3)), .bulkString(Array("id\(port + 3)".utf8)), .map([])]),
            ])
        })
    }

    @Test func theSlotMapComesFromClusterSlotsAndFollowsMoved() throws {
        let asked = RedisEndpoint(host: "10.0.0.9", port: 7000)
        var map = try ClusterSlotMap(slotsReply: Self.slotsReply([
            (0, 5460, "127.0.0.1", 7000), (5461, 10922, "127.0.0.1", 7001), (10923, 16383, "", 7002),
        ]), from: asked)
        #expect(map.coversEverySlot)
        #expect(map.primary(for: RedisHashSlot(0)) == RedisEndpoint(host: "127.0.0.1", port: 7000))
        #expect(map.primary(for: RedisHashSlot(5461)) == RedisEndpoint(host: "127.0.0.1", port: 7001))
        // An empty host means the node that answered.
        #expect(map.primary(for: RedisHashSlot(16383)) == RedisEndpoint(host: "10.0.0.9", port: 7002))
        #expect(map.shards.map(\.firstSlot.value) == [0, 5461, 10923])

        map.assign(RedisHashSlot(100), to: RedisEndpoint(host: "127.0.0.1", port: 7001))
        #expect(map.primary(for: RedisHashSlot(100)) == RedisEndpoint(host: "127.0.0.1", port: 7001))
        #expect(map.shards[0].slots == [0...99, 101...5460])
        #expect(map.shards[1].slots == [100...100, 5461...10922])
        map.assign(RedisHashSlot(200), to: RedisEndpoint(host: "127.0.0.1", port: 7009))
        #expect(map.primaries.count == 4 && map.shards.count == 4)
    }

    @Test func gapsAndUnknownAddressesLeaveSlotsWithoutAMaster() throws {
        let map = try ClusterSlotMap(slotsReply: Self.slotsReply([(0, 99, "127.0.0.1", 7000), (200, 299, "?", 7001)]), from: RedisEndpoint(host: "h", port: 1))
        #expect(!map.coversEverySlot)
        #expect(map.unownedSlots == [100...16383])
        #expect(map.primary(for: RedisHashSlot(250)) == nil)
        #expect(try ClusterSlotMap(slotsReply: .array([]), from: RedisEndpoint(host: "h", port: 1)).unownedSlots == [0...16383])
        for bad: RESPValue in [.integer(1), .array([.array([.integer(5), .integer(1), .array([])])]),
                               .array([.array([.integer(0), .integer(16384), .array([.bulkString([49]), .integer(1)])])])] {
            #expect(throws: RedisError.self) { try ClusterSlotMap(slotsReply: bad, from: RedisEndpoint(host: "h", port: 1)) }
        }
    }

    @Test func commandsFindTheirKey() {
        #expect(RedisCommand(["GET", "orders"]).route == .key("orders"))
        #expect(RedisCommand(["get", "orders"]).route == .key("orders"))
        #expect(RedisCommand(["EVALSHA", "abc", "2", "lockd:{a}:lease", "lockd:{a}:fence", "x"]).route == .key("lockd:{a}:lease"))
        #expect(RedisCommand(["EVAL", "return 1", "0"]).route == .anyPrimary)
        #expect(RedisCommand(["SPUBLISH", "chan", "hi"]).route == .key("chan"))
        for keyless: RedisCommand in [["PING"], ["SCAN", "0"], ["TIME"], ["WAIT", "1", "100"], ["PUBLISH", "c", "m"], ["CLUSTER", "SLOTS"], []] {
            #expect(keyless.route == .anyPrimary, "\(keyless)")
        }
        #expect(RedisRoute.key("{orders}:x").slot == RedisHashSlot(key: "orders"))
        #expect(RedisRoute.anyPrimary.slot == nil)
    }

    static let node = RedisEndpoint(host: "127.0.0.1", port: 7000)
    static let ms: UInt64 = 1_000_000

    @Test func redirectionsAreFollowedAFewTimes() {
        var policy = ClusterRetryPolicy(deadline: 500 * Self.ms, idempotent: false)
        let moved = RedisError.reply("MOVED 12 127.0.0.1:7001")
        for _ in 0..<ClusterRetryPolicy.maximumRedirects {
            guard case .redirect(let redirect) = policy.decide(moved, from: Self.node, now: 0, ownerChanged: false) else {
                Issue.record("MOVED is followed")
                return
            }
            #expect(redirect.endpoint.port == 7001 && redirect.kind == .moved)
        }
        guard case .fail(let error, refresh: true) = policy.decide(moved, from: Self.node, now: 0, ownerChanged: false) else {
            Issue.record("a command bounced around gives up")
            return
        }
        #expect(error.isServerUnavailable)
        var asking = ClusterRetryPolicy(deadline: 500 * Self.ms, idempotent: false)
        guard case .redirect(let redirect) = asking.decide(.reply("ASK 12 :7002"), from: Self.node, now: 0, ownerChanged: false) else {
            Issue.record("ASK is followed")
            return
        }
        #expect(redirect.kind == .ask && redirect.endpoint == RedisEndpoint(host: "127.0.0.1", port: 7002))
    }

    @Test func refusalsThatDidNotRunAreRetriedWithBackoffWithinTheDeadline() {
        for code in ["TRYAGAIN Multiple keys request during rehashing of slot", "CLUSTERDOWN The cluster is down", "LOADING", "READONLY x"] {
            var policy = ClusterRetryPolicy(deadline: 100 * Self.ms, idempotent: false)
            var delays: [Duration] = []
            var now: UInt64 = 0
            while case .retry(let delay, _) = policy.decide(.reply(code), from: Self.node, now: now, ownerChanged: false) {
                delays.append(delay)
                now += MonotonicClock.nanoseconds(delay)
            }
            #expect(delays.first == .milliseconds(5), "\(code)")
            #expect(delays == delays.sorted() && now < 100 * Self.ms && delays.count >= 3, "\(code): \(delays)")
        }
        var policy = ClusterRetryPolicy(deadline: 100 * Self.ms, idempotent: false)
        guard case .retry(_, refresh: true) = policy.decide(.reply("CLUSTERDOWN x"), from: Self.node, now: 0, ownerChanged: false) else {
            Issue.record("CLUSTERDOWN asks for a fresh map")
            return
        }
        let unsent = RedisError(.retryable, message: "the connection to Redis was closed before the command was sent")
        guard case .retry(_, refresh: true) = policy.decide(unsent, from: Self.node, now: 0, ownerChanged: false) else {
            Issue.record("a command never written is retried")
            return
        }
    }

    @Test func commandsThatMayHaveRunAreRetriedOnlyWhenIdempotentAndTheSlotMoved() {
        let lost = RedisError(.unreachable, message: "closed after the command was sent, so it may have run")
        for (idempotent, moved, retried) in [(false, false, false), (false, true, false), (true, false, false), (true, true, true)] {
            var policy = ClusterRetryPolicy(deadline: 100 * Self.ms, idempotent: idempotent)
            let decision = policy.decide(lost, from: Self.node, now: 0, ownerChanged: moved)
            if retried {
                #expect(decision == .retry(after: .zero, refresh: false))
            } else {
                #expect(decision == .fail(lost, refresh: true), "idempotent \(idempotent), moved \(moved)")
            }
        }
        var policy = ClusterRetryPolicy(deadline: 100 * Self.ms, idempotent: true)
        let timeout = RedisError(.timeout, message: "no answer")
        #expect(policy.decide(timeout, from: Self.node, now: 0, ownerChanged: true) == .fail(timeout, refresh: true))
        let script = RedisError.reply("ERR user script failed")
        #expect(policy.decide(script, from: Self.node, now: 0, ownerChanged: false) == .fail(script, refresh: false))
    }

    @Test func roundsRunWhenPromptedButNotTooOftenAndSoonerWhileUnwell() {
        var schedule = RefreshSchedule(interval: 5_000 * Self.ms, retryInterval: 100 * Self.ms, minimumGap: 50 * Self.ms)
        #expect(schedule.prompted(now: 0) == 0)
        schedule.started(now: 0)
        #expect(schedule.prompted(now: 10 * Self.ms) == nil)   // running: one more round follows
        #expect(schedule.finished(now: 20 * Self.ms, healthy: true) == 50 * Self.ms)
        schedule.started(now: 50 * Self.ms)
        #expect(schedule.finished(now: 60 * Self.ms, healthy: true) == 5_060 * Self.ms)
        #expect(schedule.prompted(now: 70 * Self.ms) == 100 * Self.ms)
        schedule.started(now: 100 * Self.ms)
        #expect(schedule.finished(now: 110 * Self.ms, healthy: false) == 210 * Self.ms)
    }

    static let sentinels = [RedisEndpoint(host: "s1", port: 26379), RedisEndpoint(host: "s2", port: 26379), RedisEndpoint(host: "s3", port: 26379)]
    static func address(_ host: String, _ port: Int) -> RESPValue {
        .array([.bulkString(Array(host.utf8)), .bulkString(Array(String(port).utf8))])
    }

    @Test func sentinelsAreAskedInTurnAndTheMastersRoleChecked() {
        var discovery = SentinelDiscovery(masterName: "locks", sentinels: Self.sentinels)
        #expect(discovery.begin() == .ask(Self.sentinels[0]))
        let down = RedisError(.unreachable, message: "connection refused")
        #expect(discovery.sentinelReplied(.failure(down)) == .ask(Self.sentinels[1]))
        let master = RedisEndpoint(host: "10.0.0.5", port: 6379)
        #expect(discovery.sentinelReplied(.success(Self.address("10.0.0.5", 6379))) == .checkRole(master))
        // The sentinel that answered is asked first from now on.
        #expect(discovery.sentinels == [Self.sentinels[1], Self.sentinels[0], Self.sentinels[2]])
        let role: RESPValue = .array([.bulkString(Array("master".utf8)), .integer(100), .array([])])
        #expect(discovery.roleReplied(.success(role)) == .found(master))

        // A sentinel behind the failover names a replica: ask the next one.
        #expect(discovery.begin() == .ask(Self.sentinels[1]))
        #expect(discovery.sentinelReplied(.success(Self.address("10.0.0.5", 6379))) == .checkRole(master))
        let replica: RESPValue = .array([.bulkString(Array("slave".utf8)), .bulkString(Array("10.0.0.6".utf8)), .integer(6379)])
        #expect(discovery.roleReplied(.success(replica)) == .ask(Self.sentinels[0]))
        #expect(discovery.sentinelReplied(.success(.null)) == .ask(Self.sentinels[2]))
        guard case .gaveUp(let error) = discovery.sentinelReplied(.failure(down)) else {
            Issue.record("every sentinel was asked")
            return
        }
        #expect(error.kind == .unreachable && error.isServerUnavailable)
        #expect(error.message.contains("says it is slave") && error.message.contains("knows no master named 'locks'"))
    }

    @Test func anAnnouncedMasterIsCheckedFirstAndTheAnnouncerAskedFirst() {
        var discovery = SentinelDiscovery(masterName: "locks", sentinels: Self.sentinels)
        let announced = RedisEndpoint(host: "10.0.0.6", port: 6380)
        discovery.prefer(Self.sentinels[2])
        #expect(discovery.begin(announced: announced) == .checkRole(announced))
        #expect(discovery.sentinels.first == Self.sentinels[2])
        // Not (yet) master: ask the sentinels, the announcer first.
        #expect(discovery.roleReplied(.failure(RedisError(.unreachable, message: "refused"))) == .ask(Self.sentinels[2]))
        #expect(discovery.sentinelReplied(.success(Self.address("10.0.0.6", 6380))) == .checkRole(announced))
        let role: RESPValue = .array([.bulkString(Array("master".utf8)), .integer(1), .array([])])
        #expect(discovery.roleReplied(.success(role)) == .found(announced))
    }

    @Test func aSentinelRefusingCredentialsSaysHowToGiveThem() {
        var discovery = SentinelDiscovery(masterName: "locks", sentinels: [Self.sentinels[0]])
        _ = discovery.begin()
        guard case .gaveUp(let error) = discovery.sentinelReplied(.failure(RedisError(.authenticationFailed, message: "WRONGPASS"))) else {
            Issue.record("one sentinel only")
            return
        }
        #expect(error.kind == .authenticationFailed && error.message.contains("sentinel_password"))
    }

    @Test func sentinelRepliesAreRead() {
        #expect(SentinelDiscovery.masterAddress(Self.address("::1", 7000)) == RedisEndpoint(host: "::1", port: 7000))
        #expect(SentinelDiscovery.masterAddress(.null) == nil)
        #expect(SentinelDiscovery.masterAddress(Self.address("h", 0)) == nil)
        #expect(SentinelDiscovery.switchedMaster("locks 10.0.0.5 6379 10.0.0.6 6380", masterName: "locks") == RedisEndpoint(host: "10.0.0.6", port: 6380))
        #expect(SentinelDiscovery.switchedMaster("other 10.0.0.5 6379 10.0.0.6 6380", masterName: "locks") == nil)
        #expect(SentinelDiscovery.switchedMaster("locks 10.0.0.5 6379", masterName: "locks") == nil)
        #expect(SentinelDiscovery.announcesFailover(channel: "+failover-state-reconf-slaves", payload: "master locks 10.0.0.5 6379", masterName: "locks"))
        #expect(!SentinelDiscovery.announcesFailover(channel: "+failover-state-reconf-slaves", payload: "master other 10.0.0.5 6379", masterName: "locks"))
        #expect(SentinelDiscovery.announcesFailover(channel: "+switch-master", payload: "locks 10.0.0.5 6379 10.0.0.6 6380", masterName: "locks"))
        #expect(!SentinelDiscovery.announcesFailover(channel: "+sdown", payload: "master locks 10.0.0.5 6379", masterName: "locks"))
    }

    @Test func anUnsolicitedShardUnsubscribeIsNoReply() {
        typealias Machine = RedisConnectionStateMachine<Int>
        var machine = RedisConnectionStateMachineTests.readyMachine(isSubscriber: true)
        _ = machine.send(["SSUBSCRIBE", "a"], replies: 1, id: 1, waiter: 1, now: 0)
        _ = machine.send(["SUNSUBSCRIBE", "b"], replies: 1, id: 2, waiter: 2, now: 0)
        RedisConnectionStateMachineTests.drain(&machine)
        func frame(_ kind: String, _ channel: String) -> RESPValue {
            .push([.bulkString(Array(kind.utf8)), .bulkString(Array(channel.utf8)), .integer(0)])
        }
        guard case .succeed(1, _) = machine.received(frame("ssubscribe", "a"), now: 0) else { Issue.record("confirmation"); return }
        // The server drops "a" by itself (its slot moved): not the reply to SUNSUBSCRIBE b.
        guard case .serverUnsubscribed("a") = machine.received(frame("sunsubscribe", "a"), now: 0) else {
            Issue.record("an unsolicited sunsubscribe is reported")
            return
        }
        guard case .succeed(2, _) = machine.received(frame("sunsubscribe", "b"), now: 0) else { Issue.record("the asked-for one is a reply"); return }
        guard case .serverUnsubscribed("b") = machine.received(frame("sunsubscribe", "b"), now: 0) else {
            Issue.record("a second one for b was not asked for")
            return
        }
    }
}
