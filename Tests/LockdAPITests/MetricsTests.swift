import LockdTestSupport
import Foundation
import Testing

/// `/metrics` speaks Prometheus text format and its series move with traffic.
@Suite struct MetricsTests {
    /// The value of the first series whose line starts with `prefix`.
    static func value(_ prefix: String, in text: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(prefix) {
            if let number = line.split(separator: " ").last.flatMap({ Double($0) }) { return number }
        }
        return nil
    }

    @Test(arguments: StoreKind.allCases)
    func seriesAppearAndMove(store: StoreKind) async throws {
        try await store.withLockd { lockd in
            let name = uniqueLockName()
            let lease = try await lockd.send("POST", "/locks/\(name)", body: #"{"ttl_ms":60000}"#)
            _ = try await lockd.send("POST", "/locks/\(name)")
            _ = try await lockd.send("DELETE", "/locks/\(name)", headers: ["Lock-Token": lease.json["token"] as? String ?? ""])
            _ = try await lockd.send("DELETE", "/locks/\(name)", headers: ["Lock-Token": lease.json["token"] as? String ?? ""])

            let scrape = try await lockd.send("GET", "/metrics")
            #expect(scrape.status == 200)
            #expect(scrape.header("Content-Type")?.hasPrefix("text/plain") == true)
            let text = scrape.text
            #expect(text.contains("# TYPE lockd_http_requests_total counter"))
            #expect(Self.value(#"lockd_http_requests_total{route="acquire",method="POST",status="201"}"#, in: text) == 1)
            #expect(Self.value(#"lockd_http_requests_total{route="acquire",method="POST",status="409"}"#, in: text) == 1)
            #expect(Self.value(#"lockd_acquires_total{outcome="granted"}"#, in: text) == 1)
            #expect(Self.value(#"lockd_acquires_total{outcome="held"}"#, in: text) == 1)
            #expect(Self.value(#"lockd_leases_ended_total{reason="released"}"#, in: text) == 1)
            #expect(Self.value(#"lockd_leases_ended_total{reason="lost"}"#, in: text) == 1)
            #expect(text.contains("lockd_http_request_duration_seconds_bucket"))
            #expect((Self.value("lockd_open_connections", in: text) ?? 0) >= 1)
            if store == .redis {
                #expect(text.contains(#"lockd_store_call_duration_seconds_count{operation="acquire"}"#))
            }

            let again = try await lockd.send("GET", "/metrics").text
            #expect(Self.value(#"lockd_http_requests_total{route="metrics",method="GET",status="200"}"#, in: again) == 1)

            // A waiting acquire shows in lockd_waiters while it waits.
            let holder = try await lockd.send("POST", "/locks/\(name)", body: #"{"ttl_ms":60000}"#)
            let waiter = Task { try await lockd.send("POST", "/locks/\(name)", body: #"{"wait_ms":10000}"#) }
            var waiting: Double?
            for _ in 0..<200 where waiting != 1 {
                try await Task.sleep(for: .milliseconds(10))
                waiting = Self.value("lockd_waiters", in: try await lockd.send("GET", "/metrics").text)
            }
            #expect(waiting == 1)
            _ = try await lockd.send("DELETE", "/locks/\(name)", headers: ["Lock-Token": holder.json["token"] as? String ?? ""])
            #expect(try await waiter.value.status == 201)
            #expect(Self.value("lockd_waiters", in: try await lockd.send("GET", "/metrics").text) == 0)
        }
    }
}
