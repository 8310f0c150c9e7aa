import LockdTestSupport
import Synchronization
import Testing

/// Waiting that survives faults (issue 18), against real lockd processes on
/// one real redis-server: a Redis that restarts empty, a lockd that is
/// killed, a lockd that is stopped for a moment.
///
/// Bounds are loose for a busy two-core machine; the tight figures (a grant
/// within 50 ms of the lock being free, dead waiters gone within 1 s) are
/// measured by `benchmarks/faults/soak.py`.
@Suite struct WaitingFaultTests {
    @Test func waitersOutliveARedisRestartedEmptyAndKeepTheirOrderPerInstance() async throws {
        let redis = try await offThePool { try RedisServerFixture.start() }
        let first = try await LockdProcess.start(["--redis", redis.url])
        let second = try await LockdProcess.start(["--redis", redis.url])
        let name = uniqueLockName()
        _ = try await acquire(name, on: first, owner: "holder")
        let grants = Grants()
        var waiters: [Waiter] = []
        for (owner, lockd) in [("a1", first), ("b1", second), ("a2", first)] {
            waiters.append(Waiter(owner: owner, lockd: lockd, task: grants.wait(for: name, on: lockd, owner: owner)))
            try await expectQueued(waiters.count, on: name, in: redis)
        }

        // Redis restarts without its data: the lease and the queue are gone,
        // so the lock is free as soon as Redis answers again.
        try await offThePool {
            redis.kill()
            try redis.restart()
        }
        let back = ContinuousClock.now
        var free = back
        for round in 0..<3 {
            let granted = await eventually(within: .seconds(5)) { grants.owners.count > round }
            try #require(granted, "only \(grants.owners) granted after the restart: \(first.output.suffix(1_500)) \(second.output.suffix(1_500))")
            let grantedAfter = ContinuousClock.now - free
            // The first grant waits for lockd to reconnect (backoff up to 1 s).
            #expect(grantedAfter < .seconds(round == 0 ? 3 : 1), "grant \(round + 1) came \(grantedAfter) after the lock was free")
            let owner = grants.owners[round]
            let waiter = try #require(waiters.first { $0.owner == owner })
            let reply = try await waiter.task.value
            let token = try #require(reply.json["token"] as? String)
            // Sent again while lockd answers 503, as a client does after its
            // Retry-After: on a busy machine a call soon after Redis came back
            // empty (its connection new, the scripts' library reloading) can miss
            // the 500 ms command timeout. The order of the grants is the point.
            // (A 503 may come after Redis ran the release: then the next try is 409.)
            var released: Reply?
            var unavailable = false
            let done = try await eventually(within: .seconds(10), every: .milliseconds(100)) {
                released = try await waiter.lockd.request("DELETE", "/locks/\(name)", headers: ["Lock-Token": token])
                if released?.status == 503 { unavailable = true }
                return released?.status != 503
            }
            #expect(done && (released?.status == 204 || (unavailable && released?.status == 409)), "\(released?.text ?? "")")
            free = ContinuousClock.now
        }
        let order = grants.owners
        #expect(Set(order) == ["a1", "b1", "a2"])
        #expect(order.firstIndex(of: "a1")! < order.firstIndex(of: "a2")!, "granted in the order \(order)")
        await first.stop()
        await second.stop()
        await offThePool { redis.stop() }
    }

    @Test func aKilledLockdsWaitersStopBlockingWithinTheLivenessWindow() async throws {
        let redis = try await offThePool { try RedisServerFixture.start() }
        let doomed = try await LockdProcess.start(["--redis", redis.url])
        let survivor = try await LockdProcess.start(["--redis", redis.url])
        let name = uniqueLockName()
        let holder = try await acquire(name, on: survivor, owner: "holder")
        let grants = Grants()
        var orphans: [Task<Reply, any Error>] = []
        for owner in ["dead1", "dead2"] {
            orphans.append(grants.wait(for: name, on: doomed, owner: owner))
            try await expectQueued(orphans.count, on: name, in: redis)
        }
        let waiter = grants.wait(for: name, on: survivor, owner: "survivor")
        try await expectQueued(3, on: name, in: redis)

        await doomed.stop()
        // Freed while the dead lockd still counts as alive: the survivor's
        // waiter must find out by itself that the two ahead of it are gone.
        let released = try await survivor.request("DELETE", "/locks/\(name)", headers: ["Lock-Token": holder])
        #expect(released.status == 204)
        let freed = ContinuousClock.now
        let reply = try await waiter.value
        #expect(reply.status == 201, "\(reply.text)")
        // Liveness window 600 ms; the issue's bound is 1 s, plus room for a busy machine.
        #expect(ContinuousClock.now - freed < .milliseconds(1_500), "granted \(ContinuousClock.now - freed) after the lock was free")
        for orphan in orphans { _ = try? await orphan.value }
        await survivor.stop()
        await offThePool { redis.stop() }
    }

    @Test func aLockdStoppedForLessThanTheLivenessWindowKeepsItsWaitersPlaces() async throws {
        let redis = try await offThePool { try RedisServerFixture.start() }
        let stalled = try await LockdProcess.start(["--redis", redis.url])
        let other = try await LockdProcess.start(["--redis", redis.url])
        // A starved lockd: stopped 300 ms, running 100 ms, over and over; the
        // 600 ms liveness window minus a 100 ms beat leaves 500 ms. A round
        // in which this test's own sleeps overran (a busy machine) proves
        // nothing and is run again.
        for _ in 0..<3 {
            let name = uniqueLockName()
            let holder = try await acquire(name, on: other, owner: "holder")
            let grants = Grants()
            let first = grants.wait(for: name, on: stalled, owner: "first")
            try await expectQueued(1, on: name, in: redis)
            let second = grants.wait(for: name, on: other, owner: "second")
            try await expectQueued(2, on: name, in: redis)

            var longestStop = Duration.zero
            for cycle in 0..<8 {
                stalled.pause()
                let stopped = ContinuousClock.now
                if cycle == 2 {
                    let released = try await other.request("DELETE", "/locks/\(name)", headers: ["Lock-Token": holder])
                    #expect(released.status == 204)
                }
                try await Task.sleep(until: stopped + .milliseconds(300))
                stalled.resume()
                longestStop = max(longestStop, ContinuousClock.now - stopped)
                try await Task.sleep(for: .milliseconds(100))
            }
            let firstReply = try await first.value
            guard longestStop < .milliseconds(400) else {
                second.cancel()
                _ = try? await second.value
                continue
            }
            #expect(firstReply.status == 201, "\(firstReply.text)")
            #expect(grants.owners == ["first"], "granted: \(grants.owners)")
            let token = try #require(firstReply.json["token"] as? String)
            _ = try await stalled.request("DELETE", "/locks/\(name)", headers: ["Lock-Token": token])
            #expect(try await second.value.status == 201)
            await stalled.stop()
            await other.stop()
            await offThePool { redis.stop() }
            return
        }
        Issue.record("the machine was too busy: every round stopped lockd longer than intended")
        await stalled.stop()
        await other.stop()
        await offThePool { redis.stop() }
    }

    /// An entry at the head of a free name's queue that its (live) lockd no
    /// longer waits on — a failover can bring one back with the grant that
    /// took it out lost — must not keep the name from another lockd's waiter:
    /// the refusal tells the entry's lockd, which drops it.
    @Test func anotherLockdsAbandonedEntryAtTheHeadIsDropped() async throws {
        let redis = try await offThePool { try RedisServerFixture.start() }
        let owner = try await LockdProcess.start(["--redis", redis.url])
        let other = try await LockdProcess.start(["--redis", redis.url])
        let name = uniqueLockName()
        // A waiter elsewhere keeps the owner's lockd beating: it is alive all along.
        let busy = uniqueLockName()
        let busyHolder = try await acquire(busy, on: other, owner: "busy")
        let keepAlive = Grants().wait(for: busy, on: owner, owner: "kept")
        try await expectQueued(1, on: busy, in: redis)

        // The owner's waiter queues on the name and is granted; its queue entry
        // is then put back, as a failover that lost the grant's write would.
        let holder = try await acquire(name, on: other, owner: "holder")
        let waiting = Grants().wait(for: name, on: owner, owner: "granted")
        try await expectQueued(1, on: name, in: redis)
        let queue = "lockd:{\(name)}:waiters"
        #expect(try await offThePool { try RedisAdmin(port: redis.port).call("COPY", queue, queue + ":saved") } == ":1")
        #expect(try await other.request("DELETE", "/locks/\(name)", headers: ["Lock-Token": holder]).status == 204)
        let granted = try await waiting.value
        let token = try #require(granted.json["token"] as? String, "\(granted.status) \(granted.text)")
        #expect(try await owner.request("DELETE", "/locks/\(name)", headers: ["Lock-Token": token]).status == 204)
        #expect(try await offThePool { try RedisAdmin(port: redis.port).call("COPY", queue + ":saved", queue, "REPLACE") } == ":1")
        try await expectQueued(1, on: name, in: redis)

        // The name is free; the other lockd's waiter must get it, not wait out its 10 s.
        let asked = ContinuousClock.now
        let reply = try await other.request("POST", "/locks/\(name)", body: #"{"ttl_ms":30000,"wait_ms":10000}"#,
                                            timeout: .seconds(15))
        #expect(reply.status == 201, "\(reply.status) \(reply.text)")
        // Not left to the 5 s check of a queue's first waiter.
        #expect(ContinuousClock.now - asked < .seconds(3), "granted \(ContinuousClock.now - asked) after asking")
        try await expectQueued(0, on: name, in: redis)
        #expect(try await other.request("DELETE", "/locks/\(busy)", headers: ["Lock-Token": busyHolder]).status == 204)
        #expect(try await keepAlive.value.status == 201)
        await owner.stop()
        await other.stop()
        await offThePool { redis.stop() }
    }

    // MARK: Helpers

    private struct Waiter {
        let owner: String
        let lockd: LockdProcess
        let task: Task<Reply, any Error>
    }

    /// Takes a lease; returns its token.
    private func acquire(_ name: String, on lockd: LockdProcess, owner: String) async throws -> String {
        let reply = try await lockd.request("POST", "/locks/\(name)", body: #"{"ttl_ms":30000,"owner":"\#(owner)"}"#)
        try #require(reply.status == 201, "\(reply.status) \(reply.text)")
        return try #require(reply.json["token"] as? String)
    }

    private func expectQueued(_ count: Int, on name: String, in redis: RedisServerFixture) async throws {
        let queued = await eventually(within: .seconds(5)) { await offThePool { redis.queuedWaiters(name) } == count }
        try #require(queued, "\(count) waiters never queued on \(name)")
    }
}

/// The owners of granted waiting acquires, in the order lockd answered them.
private final class Grants: Sendable {
    private let granted = Mutex<[String]>([])

    var owners: [String] { granted.withLock { $0 } }

    /// Starts a waiting acquire that notes its owner once answered 201.
    func wait(for name: String, on lockd: LockdProcess, owner: String) -> Task<Reply, any Error> {
        Task {
            let reply = try await lockd.request(
                "POST", "/locks/\(name)", body: #"{"ttl_ms":30000,"wait_ms":20000,"owner":"\#(owner)"}"#, timeout: .seconds(25))
            if reply.status == 201 { granted.withLock { $0.append(owner) } }
            return reply
        }
    }
}
