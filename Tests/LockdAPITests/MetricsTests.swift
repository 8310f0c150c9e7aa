import LockdTestSupport
import Foundation
import Testing

@testable import LockdAPI

/// `/metrics` speaks the Prometheus text format, every family has `# HELP`,
/// latency buckets span 100 µs to 60 s, and the series move as a scripted
/// run says they must — every status counted, 404, 405 and 413 included,
/// and the acquire outcomes adding up to the acquire route's statuses.
@Suite struct MetricsTests {
    @Test(arguments: StoreKind.allCases)
    func everyFamilyHasHelpAndLatencyBucketsSpan100MicrosecondsTo60Seconds(store: StoreKind) async throws {
        try await store.withLockd { lockd in
            _ = try await lockd.send("POST", "/locks/\(uniqueLockName())")
            let scrape = try await Self.scrape(lockd)
            #expect(!scrape.types.isEmpty)
            for family in scrape.types.keys {
                #expect(!(scrape.helps[family] ?? "").isEmpty, "\(family) has no # HELP")
            }
            var expected = [
                "lockd_http_requests_total", "lockd_http_request_duration_seconds", "lockd_acquires_total",
                "lockd_wait_duration_seconds", "lockd_hold_duration_seconds", "lockd_locks_held", "lockd_waiters",
                "lockd_leases_ended_total", "lockd_leases_expired_total", "lockd_open_connections", "lockd_build_info",
                "process_cpu_seconds_total", "process_resident_memory_bytes", "process_virtual_memory_bytes",
                "process_open_fds", "process_max_fds", "process_start_time_seconds",
            ]
            if store == .redis {
                expected += ["lockd_redis_connected", "lockd_redis_reconnects_total", "lockd_redis_topology_refreshes_total", "lockd_redis_primary_changes_total",
                             "lockd_redis_redirects_total", "lockd_redis_retries_total", "lockd_store_call_duration_seconds"]
            } else {
                #expect(scrape.types["lockd_redis_connected"] == nil, "the in-memory store has no Redis connection")
            }
            for family in expected { #expect(scrape.types[family] != nil, "\(family) is missing") }
            for histogram in ["lockd_http_request_duration_seconds", "lockd_wait_duration_seconds"]
                + (store == .redis ? ["lockd_store_call_duration_seconds"] : []) {
                let bounds = scrape.bucketBounds(histogram)
                #expect(bounds.first == 0.0001, "\(histogram) starts at \(String(describing: bounds.first))")
                #expect(bounds.contains(60), "\(histogram) has no 60 s bucket: \(bounds)")
                #expect(bounds.filter { $0 <= 0.001 }.count >= 3, "\(histogram) cannot tell sub-millisecond latencies apart")
            }
            #expect(scrape.value("lockd_build_info", ["version": LockdVersion.current, "store": store.rawValue]) == 1)
            #expect((scrape.value("process_resident_memory_bytes") ?? 0) > 1_000_000)
            #expect((scrape.value("process_open_fds") ?? 0) >= 3)
            #expect((scrape.value("process_start_time_seconds") ?? 0) > Date().timeIntervalSince1970 - 86_400)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aScriptedRunMovesEverySeriesAsItShould(store: StoreKind) async throws {
        try await store.withLockd { lockd in
            let name = uniqueLockName()
            let token = "scripted-run-token-0000000001"
            let granted = try await lockd.send("POST", "/locks/\(name)", body: #"{"ttl_ms":60000,"token":"\#(token)"}"#)
            #expect(granted.status == 201)
            #expect(MetricsScrape(try await lockd.send("GET", "/metrics").text).value("lockd_locks_held") == 1)
            let statuses = [
                try await lockd.send("POST", "/locks/\(name)", body: #"{"ttl_ms":60000,"token":"\#(token)"}"#).status,
                try await lockd.send("POST", "/locks/\(name)").status,
                try await lockd.send("POST", "/locks/\(name)", body: #"{"wait_ms":100}"#).status,
                try await lockd.send("POST", "/locks/\(name)", body: #"{"ttl_ms":5}"#).status,
                try await lockd.send("POST", "/locks/%2E%2E").status,
                try await lockd.send("POST", "/locks/\(name)/renew", headers: ["Lock-Token": token]).status,
                try await lockd.send("DELETE", "/locks/\(name)", headers: ["Lock-Token": token]).status,
                try await lockd.send("DELETE", "/locks/\(name)", headers: ["Lock-Token": token]).status,
                try await lockd.send("GET", "/no/such/path").status,
                try await lockd.send("PUT", "/locks/\(name)").status,
            ]
            #expect(statuses == [200, 409, 409, 400, 400, 200, 204, 409, 404, 405])
            // Answered by the server itself, before any route: too large, and malformed.
            #expect(try await Self.raw(lockd, "POST /locks/\(name) HTTP/1.1\r\nHost: x\r\nContent-Length: 70000\r\n\r\n") == 413)
            #expect(try await Self.raw(lockd, "NOT HTTP AT ALL\r\n\r\n") == 400)
            // Refused by content negotiation, after the route answered: still the route's.
            #expect(try await Self.raw(lockd, "GET /openapi.yaml HTTP/1.1\r\nHost: x\r\nAccept-Encoding: identity;q=0\r\n\r\n") == 406)

            let scrape = try await Self.scrape(lockd)
            func requests(_ route: String, _ method: String, _ status: Int) -> Double? {
                scrape.value("lockd_http_requests_total", ["route": route, "method": method, "status": String(status)])
            }
            #expect(requests("acquire", "POST", 201) == 1)
            #expect(requests("acquire", "POST", 200) == 1)
            #expect(requests("acquire", "POST", 409) == 2)
            #expect(requests("acquire", "POST", 400) == 2)
            #expect(requests("renew", "POST", 200) == 1)
            #expect(requests("release", "DELETE", 204) == 1)
            #expect(requests("release", "DELETE", 409) == 1)
            #expect(requests("none", "GET", 404) == 1)
            #expect(requests("none", "PUT", 405) == 1)
            #expect(requests("none", "none", 413) == 1)
            #expect(requests("none", "none", 400) == 1)
            #expect(requests("openapi", "GET", 406) == 1)

            // The acquire outcomes add up to the acquire route's statuses.
            func acquires(_ outcome: String) -> Double { scrape.sum("lockd_acquires_total", ["outcome": outcome]) }
            func acquireStatus(_ status: Int) -> Double {
                scrape.sum("lockd_http_requests_total", ["route": "acquire", "status": String(status)])
            }
            #expect(acquires("granted") == 1 && acquires("retried") == 1 && acquires("held") == 1)
            #expect(acquires("timed_out") == 1 && acquires("invalid") == 2)
            #expect(acquires("granted") == acquireStatus(201))
            #expect(acquires("retried") == acquireStatus(200))
            #expect(acquires("held") + acquires("timed_out") == acquireStatus(409))
            #expect(acquires("invalid") == acquireStatus(400))
            #expect(acquires("unavailable") + acquires("cancelled") == acquireStatus(503))

            #expect(scrape.value("lockd_wait_duration_seconds_count", ["outcome": "granted"]) == 1)
            let waited = try #require(scrape.value("lockd_wait_duration_seconds_sum", ["outcome": "timed_out"]))
            #expect(waited >= 0.1, "the timed-out acquire waited \(waited) s")
            #expect(scrape.value("lockd_leases_ended_total", ["reason": "released"]) == 1)
            #expect(scrape.value("lockd_leases_ended_total", ["reason": "lost"]) == 1)
            #expect(scrape.value("lockd_hold_duration_seconds_count") == 1)
            #expect(scrape.value("lockd_locks_held") == 0)
            #expect(scrape.value("lockd_leases_expired_total") == 0)
            #expect((scrape.value("lockd_open_connections") ?? 0) >= 1)
            if store == .redis {
                #expect(scrape.value("lockd_redis_connected") == 1)
                #expect(scrape.value("lockd_redis_reconnects_total") == 0)
                #expect(scrape.value("lockd_redis_primary_changes_total") == 0, "one server: no failover")
                #expect(scrape.value("lockd_redis_redirects_total") == 0)
                #expect((scrape.value("lockd_store_call_duration_seconds_count", ["operation": "acquire"]) ?? 0) >= 4)
            }
            // A scrape counts the ones before it (two here).
            let again = try await Self.scrape(lockd)
            #expect(again.value("lockd_http_requests_total", ["route": "metrics", "method": "GET", "status": "200"]) == 2)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aLeaseThatRunsOutCountsAsExpiredWithItsHoldTime(store: StoreKind) async throws {
        try await store.withLockd { lockd in
            let name = uniqueLockName()
            #expect(try await lockd.send("POST", "/locks/\(name)", body: #"{"ttl_ms":200}"#).status == 201)
            // Expired once the TTL and a second's grace have passed.
            let counted = try await eventually(within: .seconds(10), every: .milliseconds(100)) {
                try await Self.scrape(lockd).value("lockd_leases_expired_total") == 1
            }
            #expect(counted)
            let scrape = try await Self.scrape(lockd)
            #expect(scrape.value("lockd_locks_held") == 0)
            #expect(scrape.value("lockd_hold_duration_seconds_count") == 1)
            let hold = try #require(scrape.value("lockd_hold_duration_seconds_sum"))
            #expect(hold >= 0.15 && hold < 1, "the hold was \(hold) s; the TTL 0.2 s")
            #expect(scrape.value("lockd_leases_ended_total", ["reason": "released"]) == 0)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aWaitingAcquireShowsInTheWaitersGauge(store: StoreKind) async throws {
        try await store.withLockd { lockd in
            let name = uniqueLockName()
            let holder = try await lockd.send("POST", "/locks/\(name)", body: #"{"ttl_ms":60000}"#)
            let waiter = Task { try await lockd.send("POST", "/locks/\(name)", body: #"{"wait_ms":10000}"#) }
            let waiterCounted = try await eventually(within: .seconds(5)) { try await Self.scrape(lockd).value("lockd_waiters") == 1 }
            #expect(waiterCounted)
            _ = try await lockd.send("DELETE", "/locks/\(name)", headers: ["Lock-Token": holder.json["token"] as? String ?? ""])
            #expect(try await waiter.value.status == 201)
            let scrape = try await Self.scrape(lockd)
            #expect(scrape.value("lockd_waiters") == 0)
            #expect(scrape.value("lockd_locks_held") == 1)
            #expect(scrape.value("lockd_wait_duration_seconds_count", ["outcome": "granted"]) == 2)
        }
    }

    @Test func theRedisConnectionGaugeAndReconnectsFollowAnOutage() async throws {
        try await StoreKind.redis.withLockd { lockd in
            let redis = try #require(lockd.redis)
            let connected = try await eventually(within: .seconds(5)) { try await Self.scrape(lockd).value("lockd_redis_connected") == 1 }
            #expect(connected)
            #expect(try await Self.scrape(lockd).value("lockd_redis_reconnects_total") == 0)
            await offThePool { redis.kill() }
            let disconnected = try await eventually(within: .seconds(5)) { try await Self.scrape(lockd).value("lockd_redis_connected") == 0 }
            #expect(disconnected)
            try await offThePool { try redis.restart() }
            let reconnected = try await eventually(within: .seconds(10)) { try await Self.scrape(lockd).value("lockd_redis_connected") == 1 }
            #expect(reconnected)
            #expect((try await Self.scrape(lockd).value("lockd_redis_reconnects_total") ?? 0) >= 1)
        }
    }

    static func scrape(_ lockd: TestLockd) async throws -> MetricsScrape {
        let response = try await lockd.send("GET", "/metrics")
        #expect(response.status == 200)
        #expect(response.header("Content-Type")?.hasPrefix("text/plain; version=0.0.4") == true)
        return MetricsScrape(response.text)
    }

    /// Sends raw bytes on a new connection; returns the status answered.
    static func raw(_ lockd: TestLockd, _ request: String) async throws -> Int {
        let port = UInt16(lockd.url.port ?? 0)
        let client = try await offThePool { try RawHTTPClient(port: port) }
        defer { client.close() }
        try client.send(request)
        return try await client.readResponse().status
    }
}
