import Foundation
import LockdTestSupport
import Testing

/// With auth on, each holder shows the id of the client that took its lease
/// (a plain lock, a semaphore's slots, readers); with auth off, none.
@Suite struct HolderClientTests {
    typealias Fixture = AccessControlTests.Fixture

    static func holders(_ lockd: TestLockd, _ name: String, _ secret: String?) async throws -> [[String: Any]] {
        let reply = try await lockd.send("GET", "/locks/\(name)", headers: secret.map(AccessControlTests.bearer) ?? [:])
        #expect(reply.status == 200, "\(reply.text)")
        return reply.json["holders"] as? [[String: Any]] ?? []
    }

    @Test(arguments: StoreKind.allCases)
    func eachHolderShowsItsClient(_ kind: StoreKind) async throws {
        let fixture = Fixture()
        let policy = try fixture.policy()
        let lockAll = try #require(fixture.clients.first { $0.id == "lock-all" }).secret
        let root = fixture.rootSecret
        try await kind.withLockd(configure: { $0.authPolicy = policy }) { lockd in
            func acquire(_ name: String, _ secret: String, _ body: String) async throws {
                let reply = try await lockd.send("POST", "/locks/\(name)", body: body, headers: AccessControlTests.bearer(secret))
                #expect(reply.status == 201, "\(reply.text)")
            }
            let plain = "\(fixture.base).plain"
            try await acquire(plain, lockAll, #"{"ttl_ms": 30000, "owner": "w:1|a"}"#)
            let plainHolders = try await Self.holders(lockd, plain, root)
            #expect(plainHolders.map { $0["client"] as? String } == ["lock-all"])
            #expect(plainHolders.map { $0["owner"] as? String } == ["w:1|a"])

            for (name, body) in [("\(fixture.base).slots", #""limit": 2"#), ("\(fixture.base).readers", #""mode": "shared""#)] {
                try await acquire(name, lockAll, #"{"ttl_ms": 30000, "owner": "w:1|a", \#(body)}"#)
                try await acquire(name, root, #"{"ttl_ms": 30000, \#(body)}"#)
                let holders = try await Self.holders(lockd, name, root)
                #expect(Set(holders.compactMap { $0["client"] as? String }) == ["lock-all", "root"], "\(name)")
                #expect(holders.compactMap { $0["owner"] as? String } == ["w:1|a"], "\(name)")
            }
        }
        try await kind.withLockd { lockd in
            let name = "\(fixture.base).open"
            #expect(try await lockd.send("POST", "/locks/\(name)", body: #"{"ttl_ms": 30000, "limit": 2}"#).status == 201)
            let holders = try await Self.holders(lockd, name, nil)
            #expect(holders.count == 1 && holders.allSatisfy { $0["client"] == nil })
        }
    }
}
