import Foundation
import LockdTestSupport
import Testing

/// A lockd torn down gives back every descriptor it opened: its event loops'
/// epoll and eventfd descriptors, its sockets, its Redis connections.
@Suite struct DescriptorLeakTests {
    @Test(arguments: StoreKind.allCases)
    func lockdStartedAndStoppedLeavesNoDescriptorsBehind(store: StoreKind) async throws {
        try await store.withRedis { redis in
            // One lockd first, so what the process opens once (URLSession,
            // the runtime's own descriptors) is in the baseline.
            try await startAndStop(redis: redis, lock: "leak-check-0")
            let before = OpenDescriptors.current()
            for round in 1...8 { try await startAndStop(redis: redis, lock: "leak-check-\(round)") }
            // Each lockd used to leave 4–5 behind (two loops' epoll + eventfd,
            // more with Redis); 8 lockds would leave 30 or more.
            let settled = await eventually(within: .seconds(10)) { OpenDescriptors.current().count <= before.count + 6 }
            let after = OpenDescriptors.current()
            #expect(settled, "descriptors before: \(before.kinds), after: \(after.kinds)")
        }
    }

    private func startAndStop(redis: RedisServerFixture?, lock: String) async throws {
        try await TestLockd.with(redis: redis, logLevel: .critical) { lockd in
            let reply = try await lockd.send("POST", "/locks/\(lock)")
            #expect(reply.status == 201)
        }
    }
}

/// The descriptors this process has open, read from `/proc/self/fd`.
private struct OpenDescriptors {
    /// Where each descriptor points (`socket:[N]`, `anon_inode:[eventpoll]` …).
    var targets: [String]

    var count: Int { targets.count }

    /// How many of each kind, inode numbers left out: `anon_inode:[eventpoll]: 12, socket: 7`.
    var kinds: String {
        let kinds = Dictionary(grouping: targets) { target in
            target.hasPrefix("/") ? "file" : String(target.prefix { $0 != ":" || target.hasPrefix("anon_inode") })
        }
        return kinds.map { "\($0.key): \($0.value.count)" }.sorted().joined(separator: ", ")
    }

    static func current() -> OpenDescriptors {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return OpenDescriptors(targets: names.compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\($0)") })
    }
}
