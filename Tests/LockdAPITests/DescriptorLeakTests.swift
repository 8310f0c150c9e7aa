import Foundation
import LockdTestSupport
import Testing

/// A lockd torn down gives back every descriptor it opened: its event loops'
/// epoll and eventfd descriptors, its sockets, its Redis connections.
@Suite struct DescriptorLeakTests {
    @Test(arguments: StoreKind.allCases)
    func lockdStartedAndStoppedLeavesNoDescriptorsBehind(store: StoreKind) async throws {
        try await store.withRedis { redis in
            try await expectNoneLeft { round in
                try await TestLockd.with(redis: redis, logLevel: .critical) { lockd in
                    let reply = try await lockd.send("POST", "/locks/leak-check-\(round)")
                    #expect(reply.status == 201)
                }
            }
        }
    }

    @Test(arguments: StoreKind.allCases)
    func engineStartedAndStoppedLeavesNoDescriptorsBehind(store: StoreKind) async throws {
        try await expectNoneLeft { _ in
            try await store.withEngine { _, _ in }
        }
    }

    /// Runs `round` once to warm up (so what the process opens once, such as
    /// URLSession's descriptors, is in the baseline), then 8 times more, and
    /// expects the descriptors to come back to the baseline, give or take a few.
    private func expectNoneLeft(_ round: (Int) async throws -> Void) async throws {
        try await round(0)
        let before = OpenDescriptors.current()
        for index in 1...8 { try await round(index) }
        // Each round used to leave 4 or more behind (each loop's epoll and
        // eventfd): 8 rounds would leave 30 or more.
        let settled = await eventually(within: .seconds(10)) { OpenDescriptors.current().count <= before.count + 6 }
        let after = OpenDescriptors.current()
        #expect(settled, "descriptors before: \(before.kinds); after: \(after.kinds)")
    }
}

/// The descriptors this process has open, read from `/proc/self/fd`.
private struct OpenDescriptors {
    /// Where each descriptor points (`socket:[N]`, `anon_inode:[eventpoll]` …).
    var targets: [String]

    var count: Int { targets.count }

    /// How many of each kind: `anon_inode:[eventpoll]: 12, file: 1, socket:[N]: 7`.
    var kinds: String {
        let kinds = Dictionary(grouping: targets) { $0.hasPrefix("/") ? "file" : $0.replacing(/[0-9]+/, with: "N") }
        return kinds.map { "\($0.key): \($0.value.count)" }.sorted().joined(separator: ", ")
    }

    static func current() -> OpenDescriptors {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return OpenDescriptors(targets: names.compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\($0)") })
    }
}
