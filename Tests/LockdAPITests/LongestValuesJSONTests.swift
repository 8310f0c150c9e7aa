import Foundation
import LockEngine
import LockdAuth
import LockdHTTP
import LockdTestSupport
import Testing

/// The JSON bodies at the longest values the API admits — a 255-byte name, a
/// 128-character token and client id, a 256-byte owner whose every byte
/// needs escaping (six bytes each), a semaphore's 1000 holders in a 409 — are
/// whole and exact (a lease's body is written into stack space sized before
/// writing).
@Suite struct LongestValuesJSONTests {
    static let owner = String(repeating: "\u{1}", count: 254) + "\"\\"
    static let clientID = String(repeating: "c", count: AuthClient.maxIDLength)

    @Test(arguments: StoreKind.allCases)
    func theLongestValuesMakeExactBodies(_ kind: StoreKind) async throws {
        #expect(Self.owner.utf8.count == LockEngineConfiguration().maxOwnerBytes)
        let prefix = uniqueLockName()
        let name = prefix + String(repeating: "n", count: LockName.maxLength - prefix.utf8.count)
        let token = String(repeating: "t", count: 128 - 16) + String(format: "%016llx", UInt64.random(in: 0...UInt64.max))
        let secret = "secret-\(prefix)"
        let digest = AccessControlTests.Fixture.hex(secret)
        let policy = try AuthFile.parse(Array(#"""
            {"clients": [{"id": "\#(Self.clientID)", "sha256": "\#(digest)", "grants": [{"names": "*", "actions": ["lock", "read"]}]}]}
            """#.utf8), file: "test")
        var ownerJSON: [UInt8] = []
        JSONString.append(Self.owner, to: &ownerJSON)
        let owner = String(decoding: ownerJSON, as: UTF8.self)
        let limit = LockEngine.maxLimit
        let auth = AccessControlTests.bearer(secret)
        try await kind.withLockd(logLevel: .info, configure: { $0.authPolicy = policy }) { lockd in
            let first = try await lockd.send("POST", "/locks/\(name)", body: """
                {"ttl_ms": 60000, "owner": \(owner), "token": "\(token)", "limit": \(limit), "mode": "exclusive"}
                """, headers: auth)
            #expect(first.status == 201, "\(first.text)")
            #expect(first.json["name"] as? String == name)
            #expect(first.json["token"] as? String == token)
            #expect(first.json["owner"] as? String == Self.owner)
            #expect(first.json["limit"] as? Int == limit)
            #expect(first.json["ttl_ms"] as? Int == 60000)
            #expect(first.json.keys.sorted() == ["expires_at", "fence", "limit", "mode", "name", "owner", "token", "ttl_ms"])
            for _ in 1..<limit {
                let next = try await lockd.send("POST", "/locks/\(name)", body: """
                    {"ttl_ms": 60000, "owner": \(owner), "limit": \(limit)}
                    """, headers: auth)
                guard next.status == 201, next.json["owner"] as? String == Self.owner else {
                    Issue.record("not granted whole: \(next.status) \(next.text.prefix(300))")
                    return
                }
            }
            let held = try await lockd.send("POST", "/locks/\(name)", body: #"{"limit": \#(limit)}"#, headers: auth)
            #expect(held.status == 409, "\(held.text.prefix(300))")
            let status = try await lockd.send("GET", "/locks/\(name)", headers: auth)
            #expect(status.status == 200)
            #expect(status.json["name"] as? String == name)
            for (what, body) in [("409", held.json), ("status", status.json)] {
                let holders = body["holders"] as? [[String: Any]] ?? []
                #expect(holders.count == limit, "\(what)")
                #expect(holders.allSatisfy { $0["owner"] as? String == Self.owner && $0["client"] as? String == Self.clientID },
                        "\(what)")
                #expect(Set(holders.compactMap { $0["fence"] as? Int }).count == limit, "\(what)")
            }
        }
    }
}
