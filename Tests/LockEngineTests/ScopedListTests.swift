import LockEngine
import LockdTestSupport
import Testing

/// A listing within the names a client may read: only those names, and
/// pages as full as an unscoped listing's.
@Suite struct ScopedListTests {
    @Test(arguments: StoreKind.allCases)
    func listsOnlyNamesInTheSetInFullPages(_ kind: StoreKind) async throws {
        try await kind.withEngine { engine, _ in
            let base = uniqueLockName()
            let held = ["billing:1", "billing:2", "billing:3", "billing", "billing2:x", "orders", "orders2", "other:1"]
            for suffix in held {
                _ = try await engine.acquire(AcquireRequest(name: try LockName("\(base).\(suffix)"), ttlMs: 30_000))
            }
            let readable = LockNameSet(try ["\(base).billing:*", "\(base).orders", "\(base).nothing-held"].map { try #require(LockNamePattern($0)) })
            var names: [String] = []
            var cursor: String?
            var pages = 0
            repeat {
                let page = try await engine.list(prefix: base, limit: 2, cursor: cursor, within: readable)
                #expect(page.locks.count == 2 || page.nextCursor == nil)
                names += page.locks.map(\.name.value)
                cursor = page.nextCursor
                pages += 1
            } while cursor != nil && pages < 10
            #expect(names == ["billing:1", "billing:2", "billing:3", "orders"].map { "\(base).\($0)" })
            let narrowed = try await engine.list(prefix: "\(base).billing:2", limit: 10, cursor: nil, within: readable)
            #expect(narrowed.locks.map(\.name.value) == ["\(base).billing:2"])
            let none = try await engine.list(prefix: base, limit: 10, cursor: nil, within: .none)
            #expect(none.locks.isEmpty && none.nextCursor == nil)
        }
    }
}
