import Foundation
import LockdTestSupport
import Testing

/// lockd's responses through its CompressingResponder, byte for byte on the
/// wire: what is gzip, what stays identity, HEAD, and encoded request bodies.
@Suite struct CompressionTests {
    /// Sends one request on a fresh connection and reads the response.
    private func exchange(
        _ lockd: TestLockd, _ method: String, _ target: String, headers: [String] = [], body: [UInt8] = []
    ) async throws -> RawHTTPResponse {
        let client = try RawHTTPClient(port: UInt16(lockd.url.port ?? 0))
        var head = "\(method) \(target) HTTP/1.1\r\nHost: lockd\r\n"
        for header in headers { head += header + "\r\n" }
        if !body.isEmpty { head += "Content-Length: \(body.count)\r\n" }
        try client.send(Array((head + "\r\n").utf8) + body)
        return try await client.readResponse(headOnly: method == "HEAD")
    }

    /// The header fields other than `Date`, in order.
    /// The fields that must agree between a HEAD and its GET: all but the
    /// date and the request's own id.
    private func fieldsButDate(_ response: RawHTTPResponse) -> [String] {
        response.headers.filter { !["date", "x-request-id"].contains($0.0.lowercased()) }.map { "\($0.0): \($0.1)" }
    }

    @Test("GET /openapi.yaml: gzip, compressed once, decompresses to the spec; HEAD agrees with GET")
    func specIsPrecompressed() async throws {
        try await StoreKind.memory.withLockd { lockd in
            let identity = try await exchange(lockd, "GET", "/openapi.yaml")
            #expect(identity.header("Content-Encoding") == nil)
            #expect(identity.header("Vary") == "Accept-Encoding")
            #expect(identity.body.count > 20_000)

            let gzip = try await exchange(lockd, "GET", "/openapi.yaml", headers: ["Accept-Encoding: gzip, deflate, br, zstd"])
            #expect(gzip.header("Content-Encoding") == "gzip")
            #expect(gzip.header("Vary") == "Accept-Encoding")
            #expect(gzip.header("Content-Length") == String(gzip.body.count))
            #expect(gzip.body.count < identity.body.count / 3)
            #expect(try Gunzip.inflate(gzip.body) == identity.body)
            #expect(try await Gunzip.systemGunzip(gzip.body) == identity.body)
            // The same bytes every time: compressed at start, not per request.
            #expect(try await exchange(lockd, "GET", "/openapi.yaml", headers: ["Accept-Encoding: gzip"]).body == gzip.body)

            for (get, accept) in [(identity, "identity"), (gzip, "gzip")] {
                let head = try await exchange(lockd, "HEAD", "/openapi.yaml", headers: ["Accept-Encoding: \(accept)"])
                #expect(head.status == 200)
                #expect(fieldsButDate(head) == fieldsButDate(get))
                #expect(head.header("Content-Length") == String(get.body.count))
            }
        }
    }

    @Test("GET /metrics: gzip when accepted, the same exposition once decompressed; 406 when nothing is acceptable")
    func metricsAreCompressed() async throws {
        try await StoreKind.memory.withLockd { lockd in
            // Series appear as routes are first used: let this scrape add its own.
            _ = try await exchange(lockd, "GET", "/metrics")
            let identity = try await exchange(lockd, "GET", "/metrics")
            let gzip = try await exchange(lockd, "GET", "/metrics", headers: ["Accept-Encoding: gzip"])
            #expect(identity.header("Vary") == "Accept-Encoding")
            #expect(gzip.header("Content-Encoding") == "gzip")
            #expect(gzip.header("Content-Type") == identity.header("Content-Type"))
            #expect(gzip.body.count < identity.body.count / 3)
            // Counters move between scrapes; the series and their help do not.
            let series = { (text: [UInt8]) in
                Set(String(decoding: text, as: UTF8.self).split(separator: "\n").map { $0.prefix { $0 != " " && $0 != "{" } })
            }
            #expect(series(try Gunzip.inflate(gzip.body)) == series(identity.body))

            let refused = try await exchange(lockd, "GET", "/metrics", headers: ["Accept-Encoding: identity;q=0"])
            #expect(refused.status == 406)
            #expect(refused.header("Content-Type") == "application/problem+json")
        }
    }

    @Test("a page of 100 locks is gzip when accepted and the same JSON once decompressed", arguments: StoreKind.allCases)
    func listPagesAreCompressed(store: StoreKind) async throws {
        try await store.withLockd { lockd in
            let prefix = uniqueLockName() + ":"
            for index in 0..<100 {
                let reply = try await lockd.send("POST", "/locks/\(prefix)\(index)", body: #"{"ttl_ms":60000,"owner":"billing-worker-\#(index)"}"#)
                #expect(reply.status == 201)
            }
            let target = "/locks?prefix=\(prefix)&limit=100"
            let gzip = try await exchange(lockd, "GET", target, headers: ["Accept-Encoding: gzip"])
            let identity = try await exchange(lockd, "GET", target)
            #expect(gzip.status == 200)
            #expect(gzip.header("Content-Encoding") == "gzip")
            #expect(gzip.header("Vary") == "Accept-Encoding")
            #expect(identity.header("Vary") == "Accept-Encoding")
            #expect(identity.header("Content-Encoding") == nil)
            #expect(gzip.body.count < identity.body.count / 3)
            // The time left counts down between the two requests, and Redis
            // derives expires_at from it (± 1 ms); everything else is the same.
            let stable = { (body: [UInt8]) in
                String(decoding: body, as: UTF8.self).replacing(/"ttl_ms":\d+/, with: "").replacing(/"expires_at":"[^"]*"/, with: "")
            }
            #expect(stable(try Gunzip.inflate(gzip.body)) == stable(identity.body))
            #expect(stable(identity.body).components(separatedBy: "billing-worker-").count == 101)
        }
    }

    @Test("lease-sized answers are never compressed and vary on nothing", arguments: StoreKind.allCases)
    func leasesStayIdentity(store: StoreKind) async throws {
        try await store.withLockd { lockd in
            let name = uniqueLockName()
            let acquire = try await exchange(lockd, "POST", "/locks/\(name)", headers: ["Accept-Encoding: gzip"])
            #expect(acquire.status == 201)
            #expect(acquire.header("Content-Encoding") == nil)
            #expect(acquire.header("Vary") == nil)
            let status = try await exchange(lockd, "GET", "/locks/\(name)", headers: ["Accept-Encoding: gzip"])
            #expect(status.header("Content-Encoding") == nil)
            #expect(String(decoding: status.body, as: UTF8.self).contains(#""held":true"#))
        }
    }

    @Test("an acquire whose body is gzip: 415, and no lease is taken", arguments: StoreKind.allCases)
    func encodedRequestBodyIsRefused(store: StoreKind) async throws {
        try await store.withLockd { lockd in
            let name = uniqueLockName()
            let body = Array(#"{"ttl_ms":60000,"owner":"compressed"}"#.utf8)
            for coding in ["gzip", "br", "deflate"] {
                let reply = try await exchange(lockd, "POST", "/locks/\(name)", headers: ["Content-Encoding: \(coding)"], body: body)
                #expect(reply.status == 415)
                #expect(reply.header("Accept-Encoding") == "identity")
                #expect(reply.text.contains(#""type":"unsupported-media-type""#))
            }
            // Refused on renew too, before the token is even looked at.
            let renew = try await exchange(lockd, "POST", "/locks/\(name)/renew",
                                           headers: ["Content-Encoding: gzip", "Lock-Token: AAAAAAAAAAAAAAAAAAAAAA"], body: body)
            #expect(renew.status == 415)
            let status = try await lockd.send("GET", "/locks/\(name)")
            #expect(status.json["held"] as? Bool == false)
            // The same body uncompressed is taken.
            #expect(try await exchange(lockd, "POST", "/locks/\(name)", headers: ["Content-Encoding: identity"], body: body).status == 201)
        }
    }
}
