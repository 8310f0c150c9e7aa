import LockEngine
import LockdRedis
import LockdTestSupport
import Testing

/// Semaphores and reader-writer locks over several lockd instances on one
/// Redis: wake-ups that reach every instance, and waiters put back after
/// the store lost its data.
@Suite struct SharedLeasesAcrossInstancesTests {
    private typealias Cluster = RedisStoreTests.Cluster

    @Test func readersOnTwoInstancesAreGrantedTogetherWhenTheWriterLeaves() async throws {
        let cluster = try await Cluster.start()
        let name = try LockName(uniqueLockName())
        let writer = try await cluster.engines[0].acquire(AcquireRequest(name: name, ttlMs: 30_000))
        let granted = Granted()
        var readers: [Task<AcquireGrant, any Error>] = []
        for index in 0..<4 {
            let engine = cluster.engines[index % 2]
            readers.append(Task {
                let grant = try await engine.acquire(AcquireRequest(name: name, ttlMs: 30_000, waitMs: 20_000, owner: "\(index)", mode: .shared))
                granted.append(grant)
                return grant
            })
            let queued = try await eventually { try await cluster.engines[0].status(of: name).waiting == index + 1 }
            #expect(queued)
        }
        try await cluster.engines[1].release(name, token: writer.lease.token)
        let allGranted = await eventually { Set(granted.owners) == ["0", "1", "2", "3"] }
        #expect(allGranted)
        let status = try await cluster.engines[1].status(of: name)
        #expect(status.holders.count == 4)
        #expect(status.mode == .shared)
        for reader in readers { #expect(try await reader.value.lease.fence > writer.lease.fence) }
        await cluster.stop()
    }

    @Test func semaphoreWaitersArePutBackAfterRedisLostItsData() async throws {
        let cluster = try await Cluster.start()
        let name = try LockName(uniqueLockName())
        for _ in 0..<2 { _ = try await cluster.engines[0].acquire(AcquireRequest(name: name, ttlMs: 60_000, limit: 2)) }
        let granted = Granted()
        var waiters: [Task<AcquireGrant, any Error>] = []
        for index in 0..<3 {
            let engine = cluster.engines[index % 2]
            waiters.append(Task {
                let grant = try await engine.acquire(AcquireRequest(name: name, ttlMs: 30_000, waitMs: 20_000, owner: "\(index)", limit: 2))
                granted.append(grant)
                return grant
            })
            let queued = try await eventually { try await cluster.engines[0].status(of: name).waiting == index + 1 }
            #expect(queued)
        }
        // The holders and the queue are gone; each instance puts its waiters
        // back in their order (the order between instances is lost with the
        // data), they keep their limit, and two of them take the free slots.
        _ = try await cluster.clients[0].send(["FLUSHALL"])
        let twoGranted = await eventually { granted.owners.count == 2 }
        #expect(twoGranted)
        #expect(granted.owners.contains("0"))
        let status = try await cluster.engines[1].status(of: name)
        #expect(status.limit == 2)
        #expect(status.holders.count == 2)
        #expect(status.waiting == 1)
        for waiter in waiters { waiter.cancel() }
        let drained = try await eventually { try await cluster.engines[1].status(of: name).waiting == 0 }
        #expect(drained)
        await cluster.stop()
    }
}
