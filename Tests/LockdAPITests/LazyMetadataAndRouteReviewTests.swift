import Foundation
import LockdAPI
import LockdTestSupport
import Testing

/// The route a request is reported under when access
/// control answers through `respond` (`respondByAnswering` names the
/// response; the server must take the response's name), and the log
/// metadata of a keep-alive connection's second request (made lazily from
/// the exchange) without the first request's `traceparent`.
@Suite struct LazyMetadataAndRouteReviewTests {
    @Test func underAccessControlARequestIsCountedUnderItsRoute() async throws {
        let fixture = AccessControlTests.Fixture()
        let policy = try fixture.policy()
        try await StoreKind.memory.withLockd(configure: { $0.authPolicy = policy }) { lockd in
            let auth = AccessControlTests.bearer(fixture.rootSecret)
            let name = "\(fixture.base).orders"
            #expect(try await lockd.send("POST", "/locks/\(name)", headers: auth).status == 201)
            #expect(try await lockd.send("GET", "/no/such/path", headers: auth).status == 404)
            let scrape = MetricsScrape(try await lockd.send("GET", "/metrics", headers: auth).text)
            #expect(scrape.value("lockd_http_requests_total", ["route": "acquire", "method": "POST", "status": "201"]) == 1)
            #expect(scrape.value("lockd_http_requests_total", ["route": "none", "method": "GET", "status": "404"]) == 1)
        }
    }

    @Test func aKeepAliveRequestWithoutTraceparentLogsNoneOfThePreviousOnes() async throws {
        try await StoreKind.memory.withLockd { lockd in
            let port = UInt16(try #require(lockd.url.port))
            let client = try await offThePool { try RawHTTPClient(host: "127.0.0.1", port: port) }
            defer { client.close() }
            let (first, second) = ("kt-first-\(UUID().uuidString)", "kt-second-\(UUID().uuidString)")
            try client.send("POST /locks/\(uniqueLockName()) HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nX-Request-Id: \(first)\r\ntraceparent: \(TracingTests.traceParent)\r\n\r\n")
            #expect(try await client.readResponse().status == 201)
            try client.send("POST /locks/\(uniqueLockName()) HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nX-Request-Id: \(second)\r\n\r\n")
            #expect(try await client.readResponse().status == 201)
            let firstLines = lockd.logs.all.filter { $0.contains(first) }
            let secondLines = lockd.logs.all.filter { $0.contains(second) }
            #expect(firstLines.contains { $0.contains("lease granted") && $0.contains(TracingTests.traceParent) }, "\(firstLines)")
            #expect(secondLines.contains { $0.contains("lease granted") }, "\(secondLines)")
            #expect(secondLines.allSatisfy { !$0.contains(TracingTests.traceParent) }, "\(secondLines)")
        }
    }
}
