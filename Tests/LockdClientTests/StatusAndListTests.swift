import LockdTestSupport
import Foundation
import LockdClient
import Testing

@Suite("LockClient: status, list, bad input, transport")
struct StatusAndListTests {
    @Test("status shows a free name and a held one (owner, fence, remaining; no token)", arguments: StoreKind.allCases)
    func status(store: StoreKind) async throws {
        try await store.withLockd { lockd async throws in
            let name = uniqueLockName()
            let locks = lockd.client(owner: "inspector-test")
            let free = try await locks.status(name)
            #expect(free == LockStatus(name: name, isHeld: false, holders: []))

            let lease = try await locks.acquire(name, ttl: .seconds(60))
            let held = try await locks.status(name)
            #expect(held.name == name)
            #expect(held.isHeld)
            let holder = try #require(held.holders.first)
            #expect(held.holders.count == 1)
            #expect(holder.owner == "inspector-test")
            #expect(holder.fence == lease.fence)
            #expect(holder.remaining > .seconds(45) && holder.remaining <= .seconds(60))
            #expect(abs(holder.expiresAt.timeIntervalSince(lease.expiresAt)) < 1)
            try await lease.release()
        }
    }

    @Test("holder(_:fence:) is the holder while the fence is live, nil once it is not", arguments: StoreKind.allCases)
    func fenceCheck(store: StoreKind) async throws {
        try await store.withLockd { lockd async throws in
            let name = uniqueLockName()
            let locks = lockd.client(owner: "fence-checker")
            let lease = try await locks.acquire(name, ttl: .seconds(60))
            let holder = try #require(try await locks.holder(name, fence: lease.fence))
            #expect(holder.fence == lease.fence)
            #expect(holder.owner == "fence-checker")
            #expect(holder.remaining > .zero && holder.remaining <= .seconds(60))
            #expect(try await locks.holder(name, fence: lease.fence + 1) == nil)
            try await lease.release()
            #expect(try await locks.holder(name, fence: lease.fence) == nil)
            await #expect(throws: LockError.self) { try await locks.holder(name, fence: 0) }
        }
    }

    @Test("list pages through every held lock under a prefix, and only those", arguments: StoreKind.allCases)
    func listPages(store: StoreKind) async throws {
        try await store.withLockd { lockd async throws in
            let prefix = uniqueLockName() + ":"
            let locks = lockd.client()
            var leases: [Lease] = []
            for index in 0..<7 {
                leases.append(try await locks.acquire("\(prefix)\(index)", ttl: .seconds(30)))
            }
            let elsewhere = try await locks.acquire(uniqueLockName(), ttl: .seconds(30))

            var seen: [String] = []
            for try await status in locks.list(prefix: prefix, pageSize: 3) {
                #expect(status.isHeld)
                seen.append(status.name)
            }
            #expect(seen.sorted() == leases.map(\.name).sorted())

            try await leases[0].release()
            let afterRelease = try await locks.list(prefix: prefix, pageSize: 2).reduce(into: 0) { count, _ in count += 1 }
            #expect(afterRelease == 6)

            for lease in leases.dropFirst() { try await lease.release() }
            try await elsewhere.release()
            let none = try await locks.list(prefix: prefix).reduce(into: 0) { count, _ in count += 1 }
            #expect(none == 0)
        }
    }

    @Test("bad names are refused before any request", arguments: ["", ".", "..", "a/b", "a b", "ümlaut", String(repeating: "n", count: 256)])
    func badNames(name: String) async throws {
        // Nothing listens here: a request would fail with a transport error instead.
        let locks = LockClient(serverURL: try #require(URL(string: "http://127.0.0.1:9")))
        for call in [
            { _ = try await locks.tryAcquire(name) },
            { _ = try await locks.status(name) },
        ] as [@Sendable () async throws -> Void] {
            await #expect { try await call() } throws: { error in
                if case LockError.invalidRequest = error { true } else { false }
            }
        }
        if !name.isEmpty && name != "." && name != ".." {
            await #expect { for try await _ in locks.list(prefix: name) {} } throws: { error in
                if case LockError.invalidRequest = error { true } else { false }
            }
        }
    }

    @Test("a server that is not there is a transport error, once the client's timeout has been spent retrying")
    func nothingListening() async throws {
        let locks = LockClient(serverURL: try #require(URL(string: "http://127.0.0.1:9")), timeout: .milliseconds(600))
        for call in [
            { _ = try await locks.tryAcquire("orders") },
            { _ = try await locks.status("orders") },
        ] as [@Sendable () async throws -> Void] {
            let start = ContinuousClock.now
            await #expect { try await call() } throws: { error in
                if case LockError.transport = error { true } else { false }
            }
            #expect(ContinuousClock.now - start >= .milliseconds(600))
        }
    }

    @Test("descriptions of leases and errors never show the token", arguments: StoreKind.allCases)
    func noTokenInDescriptions(store: StoreKind) async throws {
        try await store.withLockd { lockd async throws in
            let lease = try await lockd.client().acquire(uniqueLockName(), ttl: .seconds(5))
            #expect(!String(describing: lease).contains(lease.token))
            #expect(String(describing: lease).contains("fence: \(lease.fence)"))
            try await lockd.releaseBehindTheBack(lease.name, token: lease.token)
            do {
                try await lease.renew()
                Issue.record("renew of a deleted lease succeeded")
            } catch {
                #expect(!String(describing: error).contains(lease.token))
                #expect(!String(reflecting: error).contains(lease.token))
            }
        }
    }
}
