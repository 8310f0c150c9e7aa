import LockdTestSupport
import Foundation
import Testing

@testable import LockdAPI

/// Every row of PRODUCT.md's API table, over real HTTP, against every store.
@Suite struct LockRoutesTests {
    @Test(arguments: StoreKind.allCases)
    func forceReleaseByFence(store: StoreKind) async throws {
        try await store.withLockd { lockd in
            let name = uniqueLockName()
            let lease = try await lockd.send("POST", "/locks/\(name)", body: #"{"ttl_ms":60000}"#)
            let token = try #require(lease.json["token"] as? String)
            let fence = try #require(lease.json["fence"] as? Int)
            for (query, headers) in [("", [:]), ("?fence=\(fence)", ["Lock-Token": token]), ("?fence=0", [:]), ("?fence=x", [:]),
                                     ("?fence=9007199254740992", [:]), ("?fence=\(fence)&fence=\(fence)", [:]), ("?token=\(token)", [:])] {
                let refused = try await lockd.send("DELETE", "/locks/\(name)\(query)", headers: headers)
                #expect(refused.status == 400, "\(query) \(headers.keys)")
                #expect(refused.json["type"] as? String == "invalid-request")
            }
            #expect(try await lockd.send("GET", "/locks/\(name)").json["holders"].map { ($0 as? [Any])?.count } == 1)

            let forced = try await lockd.send("DELETE", "/locks/\(name)?fence=\(fence)")
            #expect(forced.status == 204)
            #expect(forced.body.isEmpty)
            let again = try await lockd.send("DELETE", "/locks/\(name)?fence=\(fence)")
            #expect(again.status == 404)
            #expect(again.header("Content-Type") == "application/problem+json")
            #expect(again.json["type"] as? String == "not-held")
            #expect(again.json["name"] as? String == name)
            let lost = try await lockd.send("POST", "/locks/\(name)/renew", headers: ["Lock-Token": token])
            #expect(lost.json["type"] as? String == "lease-lost")
        }
    }

    @Test(arguments: StoreKind.allCases)
    func acquireRenewReleaseRoundTrip(store: StoreKind) async throws {
        try await store.withLockd { lockd in
            let name = uniqueLockName()
            let acquired = try await lockd.send("POST", "/locks/\(name)", body: #"{"ttl_ms":60000,"owner":"worker-7"}"#)
            #expect(acquired.status == 201)
            #expect(acquired.header("Content-Type") == "application/json")
            let lease = acquired.json
            let token = try #require(lease["token"] as? String)
            let fence = try #require(lease["fence"] as? Int)
            #expect(lease["name"] as? String == name)
            #expect(lease["ttl_ms"] as? Int == 60000)
            #expect(lease["owner"] as? String == "worker-7")
            #expect((lease["expires_at"] as? String)?.hasSuffix("Z") == true)
            #expect(fence >= 1 && fence < 1 << 53)

            let renewed = try await lockd.send("POST", "/locks/\(name)/renew", body: #"{"ttl_ms":90000}"#, headers: ["Lock-Token": token])
            #expect(renewed.status == 200)
            #expect(renewed.json["token"] as? String == token)
            #expect(renewed.json["fence"] as? Int == fence)
            #expect(renewed.json["ttl_ms"] as? Int == 90000)

            let kept = try await lockd.send("POST", "/locks/\(name)/renew", headers: ["Lock-Token": token])
            #expect(kept.json["ttl_ms"] as? Int == 90000)

            let released = try await lockd.send("DELETE", "/locks/\(name)", headers: ["Lock-Token": token])
            #expect(released.status == 204)
            #expect(released.body.isEmpty)

            let again = try await lockd.send("DELETE", "/locks/\(name)", headers: ["Lock-Token": token])
            #expect(again.status == 409)
            #expect(again.json["type"] as? String == "lease-lost")
            #expect(again.header("Content-Type") == "application/problem+json")

            let next = try await lockd.send("POST", "/locks/\(name)")
            #expect(next.status == 201)
            #expect(try #require(next.json["fence"] as? Int) > fence)
            #expect(next.json["ttl_ms"] as? Int == 30000)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aHeldLockAnswers409WithHoldersAndRetryAfter(store: StoreKind) async throws {
        try await store.withLockd { lockd in
            let name = uniqueLockName()
            let first = try await lockd.send("POST", "/locks/\(name)", body: #"{"ttl_ms":60000,"owner":"a"}"#)
            let refused = try await lockd.send("POST", "/locks/\(name)", body: #"{"ttl_ms":60000}"#)
            #expect(refused.status == 409)
            #expect(refused.json["type"] as? String == "lock-held")
            #expect(refused.json["status"] as? Int == 409)
            let retryAfter = Int(refused.header("Retry-After") ?? "") ?? 0
            #expect((1...60).contains(retryAfter))
            let holders = try #require(refused.json["holders"] as? [[String: Any]])
            #expect(holders.count == 1)
            #expect(holders.first?["owner"] as? String == "a")
            #expect(holders.first?["fence"] as? Int == first.json["fence"] as? Int)
            #expect(holders.first?["token"] == nil)
            #expect(!refused.text.contains(first.json["token"] as? String ?? "-"))
        }
    }

    @Test(arguments: StoreKind.allCases)
    func retriedAcquireWithItsTokenAnswers200WithTheSameFence(store: StoreKind) async throws {
        try await store.withLockd { lockd in
            let name = uniqueLockName()
            let body = #"{"ttl_ms":60000,"token":"my-own-retry-safe-token-0001"}"#
            let first = try await lockd.send("POST", "/locks/\(name)", body: body)
            let retry = try await lockd.send("POST", "/locks/\(name)", body: #"{"ttl_ms":70000,"token":"my-own-retry-safe-token-0001"}"#)
            #expect(first.status == 201)
            #expect(retry.status == 200)
            #expect(retry.json["fence"] as? Int == first.json["fence"] as? Int)
            #expect(retry.json["ttl_ms"] as? Int == 70000)
            #expect(retry.json["token"] as? String == "my-own-retry-safe-token-0001")
        }
    }

    @Test(arguments: StoreKind.allCases)
    func renewAndReleaseCheckTheLockTokenHeader(store: StoreKind) async throws {
        try await store.withLockd { lockd in
            let name = uniqueLockName()
            let token = try #require(try await lockd.send("POST", "/locks/\(name)").json["token"] as? String)
            for method in ["DELETE", "POST"] {
                let path = method == "POST" ? "/locks/\(name)/renew" : "/locks/\(name)"
                let missing = try await lockd.send(method, path)
                #expect(missing.status == 400)
                #expect((missing.json["detail"] as? String)?.contains("Lock-Token") == true)
                let malformed = try await lockd.send(method, path, headers: ["Lock-Token": "short"])
                #expect(malformed.status == 400)
                let wrong = try await lockd.send(method, path, headers: ["Lock-Token": "a-well-formed-but-wrong-token-123"])
                #expect(wrong.status == 409)
                #expect(wrong.json["type"] as? String == "lease-lost")
            }
            #expect(try await lockd.send("POST", "/locks/\(name)/renew", headers: ["Lock-Token": "<\(token)>"]).status == 200)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func inspectAndListShowHoldersButNoTokens(store: StoreKind) async throws {
        try await store.withLockd { lockd in
            let prefix = "routes:\(UUID().uuidString.prefix(8)):"
            let free = try await lockd.send("GET", "/locks/\(prefix)free")
            #expect(free.status == 200)
            #expect(free.json["held"] as? Bool == false)
            #expect((free.json["holders"] as? [Any])?.isEmpty == true)

            var tokens: [String] = []
            for index in 0..<5 {
                let lease = try await lockd.send("POST", "/locks/\(prefix)\(index)", body: #"{"owner":"o\#(index)"}"#)
                tokens.append(lease.json["token"] as? String ?? "")
            }
            let held = try await lockd.send("GET", "/locks/\(prefix)3")
            #expect(held.json["held"] as? Bool == true)
            #expect((held.json["holders"] as? [[String: Any]])?.first?["owner"] as? String == "o3")

            var names: [String] = []
            var cursor: String?
            var pages = 0
            repeat {
                var path = "/locks?prefix=\(prefix)&limit=2"
                if let cursor { path += "&cursor=\(cursor.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }
                let page = try await lockd.send("GET", path)
                #expect(page.status == 200)
                for token in tokens { #expect(!page.text.contains(token)) }
                let locks = try #require(page.json["locks"] as? [[String: Any]])
                #expect(locks.count <= 2)
                names += locks.compactMap { $0["name"] as? String }
                cursor = page.json["next_cursor"] as? String
                pages += 1
            } while cursor != nil && pages < 10
            #expect(Set(names) == Set((0..<5).map { "\(prefix)\($0)" }))
        }
    }

    @Test(arguments: StoreKind.allCases)
    func healthReadinessSpecAndMetricsAnswer(store: StoreKind) async throws {
        try await store.withLockd { lockd in
            let health = try await lockd.send("GET", "/healthz")
            #expect(health.status == 200)
            #expect(health.json["status"] as? String == "ok")
            let ready = try await lockd.send("GET", "/readyz")
            #expect(ready.status == 200)
            #expect(ready.json["status"] as? String == "ready")
            #expect(ready.json["store"] as? String == store.rawValue, "/readyz does not name the store: \(ready.text)")
            let spec = try await lockd.send("GET", "/openapi.yaml")
            #expect(spec.status == 200)
            #expect(spec.body == Data(OpenAPIDocument.bytes))
            #expect(spec.text.contains("openapi: 3."))
            #expect(try await lockd.send("GET", "/metrics").status == 200)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func problemsNameTheLockAndAdviseWhatFitsWhatHappened(store: StoreKind) async throws {
        try await store.withLockd { lockd in
            let name = uniqueLockName()
            #expect(try await lockd.send("POST", "/locks/\(name)", body: #"{"ttl_ms":60000}"#).status == 201)

            let atOnce = try await lockd.send("POST", "/locks/\(name)")
            let atOnceDetail = atOnce.json["detail"] as? String ?? ""
            #expect(atOnce.json["name"] as? String == name)
            #expect(atOnceDetail.contains("lock \"\(name)\""), "\(atOnceDetail)")
            #expect(atOnceDetail.contains("wait_ms"), "a try-once 409 should say that waiting is possible: \(atOnceDetail)")

            let afterWait = try await lockd.send("POST", "/locks/\(name)", body: #"{"wait_ms":100}"#)
            let afterWaitDetail = afterWait.json["detail"] as? String ?? ""
            #expect(afterWait.status == 409)
            #expect(afterWaitDetail.contains("lock \"\(name)\"") && afterWaitDetail.contains("100 ms"), "\(afterWaitDetail)")
            #expect(!afterWaitDetail.contains("wait_ms"), "advises waiting to a client that just waited: \(afterWaitDetail)")

            let lost = try await lockd.send("DELETE", "/locks/\(name)", headers: ["Lock-Token": "not-the-holders-token-000"])
            #expect(lost.json["type"] as? String == "lease-lost")
            #expect(lost.json["name"] as? String == name)
            #expect((lost.json["detail"] as? String ?? "").contains("lock \"\(name)\""))

            let invalid = try await lockd.send("POST", "/locks/\(name)", body: #"{"ttl_ms":5}"#)
            #expect(invalid.status == 400 && invalid.json["name"] as? String == name)
            // A name that is not one is not repeated back as one.
            #expect(try await lockd.send("POST", "/locks/%2E%2E").json["name"] == nil)
        }
    }
}

/// A lock name no other test uses.
func uniqueLockName(_ label: String = #function) -> String {
    "api:\(label.prefix { $0 != "(" }):\(UUID().uuidString.prefix(12))"
}
