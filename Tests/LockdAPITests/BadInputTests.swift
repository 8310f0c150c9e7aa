import LockdTestSupport
import Foundation
import Testing

/// Bad requests get a 400 problem whose detail says what to fix, and lockd
/// keeps serving.
@Suite struct BadInputTests {
    static let cases: [(body: String, mentions: String)] = [
        ("{", "JSON"),
        ("[1,2]", "object"),
        (#"{"ttl_ms":"100"}"#, "ttl_ms"),
        (#"{"ttl_ms":1.5}"#, "ttl_ms"),
        (#"{"ttl_ms":99}"#, "ttl_ms"),
        (#"{"ttl_ms":86400001}"#, "ttl_ms"),
        (#"{"ttl_ms":123456789012345678901234}"#, "ttl_ms"),
        (#"{"wait_ms":-1}"#, "wait_ms"),
        (#"{"wait_ms":60001}"#, "wait_ms"),
        (#"{"owner":42}"#, "owner"),
        (#"{"ttl_ms":null}"#, "ttl_ms"),
        (#"{"owner":"\#(String(repeating: "x", count: 257))"}"#, "owner"),
        (#"{"token":"too-short"}"#, "token"),
        (#"{"token":"has spaces in it, which is not allowed"}"#, "token"),
        (#"{"limit":0}"#, "limit"),
        (#"{"limit":1001}"#, "limit"),
        (#"{"limit":"2"}"#, "limit"),
        (#"{"limit":2.5}"#, "limit"),
        (#"{"limit":null}"#, "limit"),
        (#"{"mode":"reader"}"#, "mode"),
        (#"{"mode":"Shared"}"#, "mode"),
        (#"{"mode":1}"#, "mode"),
        (#"{"mode":"shared","limit":2}"#, "shared"),
        (#"{"durability":"eventually"}"#, "durability"),
        (#"{"durability":true}"#, "durability"),
        (#"{"ttl":1000}"#, "unknown field"),
        (#"{"ttl_ms":1000,"ttl_ms":2000}"#, "more than once"),
        (#"{"ttl_ms":1000,"lock_delay_ms":0,"mode":"exclusive","lock_delay_ms":0}"#, "field 'lock_delay_ms' appears more than once"),
        (#"{"ttl_ms":1000,"wait":1}"#, "unknown field 'wait'; allowed fields: ttl_ms, wait_ms, owner, token, limit, mode, durability, lock_delay_ms"),
        (String(repeating: "[", count: 100), "JSON"),
    ]

    @Test(arguments: StoreKind.allCases)
    func malformedAcquireBodiesAreRefusedWithWhatToFix(store: StoreKind) async throws {
        try await store.withLockd { lockd in
            let name = uniqueLockName()
            for (body, mentions) in Self.cases {
                let response = try await lockd.send("POST", "/locks/\(name)", body: body)
                #expect(response.status == 400, "body \(body.prefix(60))")
                #expect(response.json["type"] as? String == "invalid-request")
                let detail = response.json["detail"] as? String ?? ""
                #expect(detail.contains(mentions), "detail '\(detail)' for body \(body.prefix(60))")
            }
            // Still serving, and nothing was taken by the bad requests.
            #expect(try await lockd.send("GET", "/locks/\(name)").json["held"] as? Bool == false)
            #expect(try await lockd.send("POST", "/locks/\(name)", body: " \n").status == 201)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func badNamesAreRefused(store: StoreKind) async throws {
        try await store.withLockd { lockd in
            let long = String(repeating: "n", count: 256)
            // URLSession folds a literal ".." segment away before sending; the escaped forms reach lockd.
            for path in ["/locks/bad%2Fname", "/locks/%2E%2E", "/locks/%2E", "/locks/sp%20ace", "/locks/\(long)", "/locks/%ZZ", "/locks/%C3%BC"] {
                let response = try await lockd.send("POST", path)
                #expect(response.status == 400, "\(path)")
                #expect(response.json["type"] as? String == "invalid-request")
            }
            #expect(try await lockd.send("POST", "/locks/\(String(repeating: "n", count: 255))").status == 201)
        }
    }

    /// An empty name is a bad name (PRODUCT.md and openapi.yaml: 1–255
    /// bytes, anything else 400), on every route that takes one — not a
    /// path without a route (404).
    @Test(arguments: StoreKind.allCases)
    func anEmptyNameIsRefusedAsABadName(store: StoreKind) async throws {
        try await store.withLockd { lockd in
            for (method, path) in [("POST", "/locks/"), ("GET", "/locks/"), ("DELETE", "/locks/"),
                                   ("POST", "/locks//renew"), ("GET", "/locks//holders/1")] {
                let response = try await AccessControlTests.raw(lockd, method, path, headers: ["Lock-Token": "a-client-chosen-token-0001"])
                #expect(response.status == 400, "\(method) \(path)")
                let body = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any] ?? [:]
                #expect(body["type"] as? String == "invalid-request", "\(method) \(path)")
                #expect(body["detail"] as? String == "lock name is empty", "\(method) \(path)")
            }
            // Paths with no name's place stay without a route.
            #expect(try await AccessControlTests.raw(lockd, "GET", "/locks//x").status == 404)
        }
    }

    /// openapi.yaml's `cursor` pattern and `wait_ms` maximum admit exactly
    /// what lockd (with its default --max-wait-ms) accepts.
    @Test(arguments: StoreKind.allCases)
    func whatTheSpecAdmitsIsAccepted(store: StoreKind) async throws {
        try await store.withLockd { lockd in
            for cursor in ["0:", "12345:zzz", "0:...", "9999999999999999999:a.b"] {
                let status = try await lockd.send("GET", "/locks?cursor=\(cursor)").status
                #expect(status == 200, "cursor \(cursor)")
            }
            for cursor in ["0:.", "0:..", "x:a", "99999999999999999999:a"] {
                let status = try await lockd.send("GET", "/locks?cursor=\(cursor)").status
                #expect(status == 400, "cursor \(cursor)")
            }
            let longest = try await lockd.send("POST", "/locks/\(uniqueLockName())", body: #"{"wait_ms":60000}"#)
            #expect(longest.status == 201)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func badListQueriesAreRefused(store: StoreKind) async throws {
        try await store.withLockd { lockd in
            for query in ["limit=0", "limit=1001", "limit=ten", "prefix=a%2Fb", "cursor=not-ours", "color=blue", "limit=1&limit=2"] {
                let response = try await lockd.send("GET", "/locks?\(query)")
                #expect(response.status == 400, "\(query)")
            }
        }
    }

    @Test(arguments: StoreKind.allCases)
    func unknownRoutesAndMethodsAreProblems(store: StoreKind) async throws {
        try await store.withLockd { lockd in
            let missing = try await lockd.send("GET", "/nope")
            #expect(missing.status == 404)
            #expect(missing.header("Content-Type") == "application/problem+json")
            let wrongMethod = try await lockd.send("PUT", "/locks/x")
            #expect(wrongMethod.status == 405)
            #expect(wrongMethod.header("Allow")?.contains("POST") == true)
        }
    }
}
