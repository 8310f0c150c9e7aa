import LockdTestSupport
import Foundation
import Testing

/// `GET /locks/{name}/holders/{fence}`: Chubby's CheckSequencer over HTTP,
/// against every store.
@Suite struct FenceCheckTests {
    @Test(arguments: StoreKind.allCases)
    func theCurrentFenceIsHeldAndAReleasedOrNeverIssuedOneIsNot(store: StoreKind) async throws {
        try await store.withLockd { lockd in
            let name = uniqueLockName()
            let lease = try await lockd.send("POST", "/locks/\(name)", body: #"{"ttl_ms":60000,"owner":"writer-1"}"#)
            let token = try #require(lease.json["token"] as? String)
            let fence = try #require(lease.json["fence"] as? Int)

            let held = try await lockd.send("GET", "/locks/\(name)/holders/\(fence)")
            #expect(held.status == 200, "\(held.text)")
            #expect(held.header("Content-Type") == "application/json")
            #expect(held.json["fence"] as? Int == fence)
            #expect(held.json["owner"] as? String == "writer-1")
            #expect(held.json["mode"] as? String == "exclusive")
            #expect((held.json["expires_at"] as? String)?.hasSuffix("Z") == true)
            #expect((held.json["ttl_ms"] as? Int).map { $0 > 0 && $0 <= 60_000 } == true)
            #expect(!held.text.contains(token), "the fence check answered the token")

            // Never issued: above the current fence, and on a never-used name.
            for path in ["/locks/\(name)/holders/\(fence + 1)", "/locks/\(uniqueLockName())/holders/\(fence)"] {
                let never = try await lockd.send("GET", path)
                #expect(never.status == 404, "\(path)")
                #expect(never.header("Content-Type") == "application/problem+json")
                #expect(never.json["type"] as? String == "not-held")
            }

            #expect(try await lockd.send("DELETE", "/locks/\(name)", headers: ["Lock-Token": token]).status == 204)
            let released = try await lockd.send("GET", "/locks/\(name)/holders/\(fence)")
            #expect(released.status == 404)
            #expect(released.json["type"] as? String == "not-held")
            #expect(released.json["name"] as? String == name)

            // The next holder's fence is held; the old one stays not held.
            let next = try await lockd.send("POST", "/locks/\(name)", body: #"{"ttl_ms":60000}"#)
            let nextFence = try #require(next.json["fence"] as? Int)
            #expect(try await lockd.send("GET", "/locks/\(name)/holders/\(nextFence)").status == 200)
            #expect(try await lockd.send("GET", "/locks/\(name)/holders/\(fence)").status == 404)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func anExpiredFenceIsNotHeld(store: StoreKind) async throws {
        try await store.withLockd { lockd in
            let name = uniqueLockName()
            let lease = try await lockd.send("POST", "/locks/\(name)", body: #"{"ttl_ms":100}"#)
            let fence = try #require(lease.json["fence"] as? Int)
            let path = "/locks/\(name)/holders/\(fence)"
            let expired = try await eventually(within: .seconds(10)) {
                try await lockd.send("GET", path).status == 404
            }
            #expect(expired, "fence \(fence) was still held long after its 100 ms TTL")
            #expect(try await lockd.send("GET", path).json["type"] as? String == "not-held")
        }
    }

    @Test(arguments: StoreKind.allCases)
    func eachFenceOfASemaphoreOrOfReadersNamesItsOwnHolder(store: StoreKind) async throws {
        try await store.withLockd { lockd in
            for (body, mode) in [(#""limit":3"#, "exclusive"), (#""mode":"shared""#, "shared")] {
                let name = uniqueLockName()
                var fences: [String: Int] = [:]
                for owner in ["a", "b", "c"] {
                    let lease = try await lockd.send("POST", "/locks/\(name)", body: #"{"ttl_ms":60000,"owner":"\#(owner)",\#(body)}"#)
                    fences[owner] = try #require(lease.json["fence"] as? Int, "\(lease.status) \(lease.text)")
                }
                for (owner, fence) in fences {
                    let holder = try await lockd.send("GET", "/locks/\(name)/holders/\(fence)")
                    #expect(holder.status == 200)
                    #expect(holder.json["owner"] as? String == owner, "\(mode) fence \(fence)")
                    #expect(holder.json["fence"] as? Int == fence)
                    #expect(holder.json["mode"] as? String == mode)
                }
                #expect(try await lockd.send("GET", "/locks/\(name)/holders/\((fences.values.max() ?? 0) + 1)").status == 404)
            }
        }
    }

    @Test func aFenceThatIsNoFenceIs400() async throws {
        try await StoreKind.memory.withLockd { lockd in
            let name = uniqueLockName()
            for fence in ["0", "-1", "x", "1.5", "9007199254740992", "99999999999999999999"] {
                let refused = try await lockd.send("GET", "/locks/\(name)/holders/\(fence)")
                #expect(refused.status == 400, "\(fence)")
                #expect(refused.json["type"] as? String == "invalid-request")
            }
            #expect(try await lockd.send("GET", "/locks/\(name)/holders/9007199254740991").status == 404)
        }
    }
}
