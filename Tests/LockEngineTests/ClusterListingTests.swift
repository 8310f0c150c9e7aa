import LockdRedis
import LockdTestSupport
import LockdTransport
import LockEngine
import Logging
import Testing

/// `GET /locks` on a real Redis Cluster (the shared 3 + 3 fixture): the
/// listing walks every master, page by page, and its cursor names a slot.
@Suite(.serialized) struct ClusterListingTests {
    @Test func namesOnEveryMasterAreListedAcrossPages() async throws {
        let cluster = try await offThePool { try RedisClusterFixture.shared() }
        let loops = try EventLoopGroup(loopCount: 1, namePrefix: "cluster-listing")
        defer { loops.shutdown() }
        let logger = Logger(label: "test")
        let backend = try RedisLockBackend(configuration: try RedisConfiguration(url: cluster.url), loops: loops, logger: logger)
        let engine = LockEngine(store: backend.store, loops: loops, upkeepLoop: backend.upkeepLoop, logger: logger)
        let runner = Task { await engine.run() }
        try await retrying(within: .seconds(10)) { try await engine.checkReady() }

        // Four names per master, under one prefix of their own.
        let prefix = uniqueLockName()
        let masters = await offThePool { cluster.masterPorts() }
        var perMaster: [UInt16: Int] = [:]
        var held: Set<LockName> = []
        for index in 0..<400 where held.count < 4 * masters.count {
            let name = try LockName("\(prefix)-\(index)")
            guard let port = await offThePool({ cluster.masterPort(forSlot: RedisHashSlot(key: name.value)) }),
                  perMaster[port, default: 0] < 4 else { continue }
            perMaster[port, default: 0] += 1
            _ = try await engine.acquire(AcquireRequest(name: name, ttlMs: 60_000))
            held.insert(name)
        }
        #expect(perMaster.count == 3 && held.count == 12)

        // 4 per page ends a page exactly at a shard's end; 1 and 5 inside one.
        for limit in [1, 4, 5] {
            var listed: [LockName] = []
            var cursor: String?
            var pages = 0
            var cursorsPastTheFirstShard = 0
            repeat {
                let page = try await engine.list(prefix: prefix, limit: limit, cursor: cursor)
                #expect(page.locks.count <= limit)
                listed += page.locks.map(\.name)
                cursor = page.nextCursor
                if cursor?.contains(".") == true { cursorsPastTheFirstShard += 1 }
                pages += 1
            } while cursor != nil && pages < 30
            #expect(listed.count == held.count, "no name twice (\(limit) per page)")
            #expect(Set(listed) == held, "\(limit) per page")
            #expect(pages >= 12 / limit)
            #expect(cursorsPastTheFirstShard >= 1)
        }

        // A cursor that lockd did not write is refused, not followed.
        await #expect(throws: LockError.self) { try await engine.list(prefix: prefix, limit: 5, cursor: "16384.0:") }

        runner.cancel()
        await runner.value
        await backend.shutdown()
    }
}
