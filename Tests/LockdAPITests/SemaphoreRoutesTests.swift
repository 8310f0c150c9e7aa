import LockdTestSupport
import Foundation
import LockEngine
import Testing

@testable import LockdAPI

/// PRODUCT.md's semaphores and reader-writer locks over HTTP: the `limit`
/// and `mode` fields in, the new Lease and LockStatus fields out, and
/// `409 limit-mismatch`.
@Suite struct SemaphoreRoutesTests {
    @Test func statusAndLeaseJSONCarryModeLimitAndWaiting() throws {
        let name = try LockName("jobs")
        let readers = [
            Holder(owner: "r1", fence: 7, expiresAtMs: 1_000, remainingMs: 900, mode: .shared),
            Holder(owner: nil, fence: 8, expiresAtMs: 2_000, remainingMs: 1_900, mode: .shared),
        ]
        let status = try JSONSerialization.jsonObject(with: Data(LockJSON.status(
            LockStatus(name: name, holders: readers, limit: 1, waiting: 3)))) as? [String: Any]
        #expect(status?["mode"] as? String == "shared")
        #expect(status?["limit"] as? Int == 1)
        #expect(status?["waiting"] as? Int == 3)
        let holders = try #require(status?["holders"] as? [[String: Any]])
        #expect(holders.map { $0["mode"] as? String } == ["shared", "shared"])
        #expect(holders.map { $0["fence"] as? Int } == [7, 8])

        let free = try JSONSerialization.jsonObject(with: Data(LockJSON.status(
            LockStatus(name: name, holders: [], limit: 4, waiting: 0)))) as? [String: Any]
        #expect(free?.keys.contains("mode") == false)
        #expect(free?["limit"] as? Int == 4)

        let lease = Lease(name: name, token: try LeaseToken("a-client-chosen-token-0001"), fence: 9, ttlMs: 500,
                          expiresAtMs: 3_000, owner: nil, mode: .exclusive, limit: 4)
        let leaseJSON = try JSONSerialization.jsonObject(with: Data(LockJSON.lease(lease))) as? [String: Any]
        #expect(leaseJSON?["mode"] as? String == "exclusive")
        #expect(leaseJSON?["limit"] as? Int == 4)
        #expect(leaseJSON?.keys.contains("owner") == false)
    }

    @Test(arguments: StoreKind.allCases)
    func aPlainLockShowsExclusiveModeAndLimitOne(store: StoreKind) async throws {
        try await store.withLockd { lockd in
            let name = uniqueLockName()
            let free = try await lockd.send("GET", "/locks/\(name)")
            #expect(free.json["held"] as? Bool == false)
            #expect(free.json.keys.contains("mode") == false)
            #expect(free.json["limit"] as? Int == 1)
            #expect(free.json["waiting"] as? Int == 0)

            let lease = try await lockd.send("POST", "/locks/\(name)", body: #"{"owner":"w","limit":1,"mode":"exclusive"}"#)
            #expect(lease.status == 201)
            #expect(lease.json["mode"] as? String == "exclusive")
            #expect(lease.json["limit"] as? Int == 1)

            let held = try await lockd.send("GET", "/locks/\(name)")
            #expect(held.json["mode"] as? String == "exclusive")
            #expect(held.json["limit"] as? Int == 1)
            #expect(held.json["waiting"] as? Int == 0)
            let holders = try #require(held.json["holders"] as? [[String: Any]])
            #expect(holders.map { $0["mode"] as? String } == ["exclusive"])
            let token = try #require(lease.json["token"] as? String)
            let renewed = try await lockd.send("POST", "/locks/\(name)/renew", headers: ["Lock-Token": token])
            #expect(renewed.json["mode"] as? String == "exclusive")
            #expect(renewed.json["limit"] as? Int == 1)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func renewTakesNoLimitOrMode(store: StoreKind) async throws {
        try await store.withLockd { lockd in
            let name = uniqueLockName()
            let token = try #require(try await lockd.send("POST", "/locks/\(name)").json["token"] as? String)
            for body in [#"{"limit":2}"#, #"{"mode":"shared"}"#] {
                let refused = try await lockd.send("POST", "/locks/\(name)/renew", body: body, headers: ["Lock-Token": token])
                #expect(refused.status == 400)
                #expect((refused.json["detail"] as? String)?.contains("unknown field") == true)
            }
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aSemaphoreAdmitsItsLimitAndRefusesAnotherLimit(store: StoreKind) async throws {
        try await store.withLockd { lockd in
            let name = uniqueLockName()
            var fences: [Int] = []
            for owner in ["a", "b", "c"] {
                let lease = try await lockd.send("POST", "/locks/\(name)", body: #"{"limit":3,"owner":"\#(owner)"}"#)
                #expect(lease.status == 201)
                #expect(lease.json["limit"] as? Int == 3)
                #expect(lease.json["mode"] as? String == "exclusive")
                fences.append(lease.json["fence"] as? Int ?? 0)
            }
            #expect(fences == fences.sorted() && Set(fences).count == 3)

            let full = try await lockd.send("POST", "/locks/\(name)", body: #"{"limit":3}"#)
            #expect(full.status == 409)
            #expect(full.json["type"] as? String == "lock-held")
            #expect((full.json["holders"] as? [[String: Any]])?.count == 3)

            let mismatch = try await lockd.send("POST", "/locks/\(name)", body: #"{"limit":2}"#)
            #expect(mismatch.status == 409)
            #expect(mismatch.header("Content-Type") == "application/problem+json")
            #expect(mismatch.json["type"] as? String == "limit-mismatch")
            #expect(mismatch.json["status"] as? Int == 409)
            #expect(mismatch.json["limit"] as? Int == 3)
            #expect((mismatch.json["detail"] as? String)?.contains("3") == true)

            let status = try await lockd.send("GET", "/locks/\(name)")
            #expect(status.json["limit"] as? Int == 3)
            #expect(status.json["mode"] as? String == "exclusive")
            let holders = try #require(status.json["holders"] as? [[String: Any]])
            #expect(Set(holders.compactMap { $0["owner"] as? String }) == ["a", "b", "c"])
            #expect(holders.allSatisfy { $0["mode"] as? String == "exclusive" && $0["token"] == nil })
        }
    }

    @Test(arguments: StoreKind.allCases)
    func readersShareAndAWriterWaitsForThemInTheStatus(store: StoreKind) async throws {
        try await store.withLockd { lockd in
            let name = uniqueLockName()
            var tokens: [String] = []
            for owner in ["r1", "r2"] {
                let reader = try await lockd.send("POST", "/locks/\(name)", body: #"{"mode":"shared","owner":"\#(owner)"}"#)
                #expect(reader.status == 201)
                #expect(reader.json["mode"] as? String == "shared")
                #expect(reader.json["limit"] as? Int == 1)
                tokens.append(try #require(reader.json["token"] as? String))
            }
            let refused = try await lockd.send("POST", "/locks/\(name)", body: #"{"mode":"exclusive"}"#)
            #expect(refused.status == 409)
            #expect(refused.json["type"] as? String == "lock-held")
            let refusedHolders = try #require(refused.json["holders"] as? [[String: Any]])
            #expect(refusedHolders.map { $0["mode"] as? String } == ["shared", "shared"])

            let writer = Task { try await lockd.send("POST", "/locks/\(name)", body: #"{"owner":"w","wait_ms":30000}"#) }
            defer { writer.cancel() }
            let queued = try await eventually(within: .seconds(10)) {
                try await lockd.send("GET", "/locks/\(name)").json["waiting"] as? Int == 1
            }
            #expect(queued)
            let status = try await lockd.send("GET", "/locks/\(name)")
            #expect(status.json["mode"] as? String == "shared")
            #expect((status.json["holders"] as? [[String: Any]])?.count == 2)

            for token in tokens {
                #expect(try await lockd.send("DELETE", "/locks/\(name)", headers: ["Lock-Token": token]).status == 204)
            }
            let granted = try await writer.value
            #expect(granted.status == 201)
            #expect(granted.json["mode"] as? String == "exclusive")
            let after = try await lockd.send("GET", "/locks/\(name)")
            #expect(after.json["waiting"] as? Int == 0)
            #expect(after.json["mode"] as? String == "exclusive")
        }
    }
}
