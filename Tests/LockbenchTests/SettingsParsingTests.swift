import Testing

@testable import LockbenchCore

@Suite struct SettingsParsingTests {
    @Test func parsesTargetURLs() throws {
        let plain = try BenchTarget(url: "http://127.0.0.1:7070")
        #expect(plain.host == "127.0.0.1" && plain.port == 7070 && plain.basePath == "")
        #expect(plain.hostHeader == "127.0.0.1:7070")
        let proxied = try BenchTarget(url: "HTTP://locks.internal/lockd/")
        #expect(proxied.host == "locks.internal" && proxied.port == 80 && proxied.basePath == "/lockd")
        #expect(proxied.hostHeader == "locks.internal")
        let v6 = try BenchTarget(url: "http://[::1]:7070/")
        #expect(v6.host == "::1" && v6.port == 7070 && v6.hostHeader == "[::1]:7070")
        #expect(!plain.isTLS)
        let secure = try BenchTarget(url: "https://locks.internal")
        #expect(secure.isTLS && secure.port == 443 && secure.hostHeader == "locks.internal")
        #expect(try BenchTarget(url: "https://127.0.0.1:7443").hostHeader == "127.0.0.1:7443")
    }

    @Test func rejectsTargetsItCannotLoad() {
        for url in ["ftp://127.0.0.1:7070", "127.0.0.1:7070", "http://:7070", "http://u:p@host:1", "http://h:0", "http://h:70000", "http://[::1"] {
            #expect(throws: BenchConfigError.self, "\(url)") { try BenchTarget(url: url) }
        }
    }

    @Test func encodesBothRequests() throws {
        let requests = LockRequests(target: try BenchTarget(url: "http://h:1/base"), ttlMs: 5000, waitMs: 250)
        let body = #"{"ttl_ms":5000,"wait_ms":250}"#
        #expect(requests.acquire(name: "a:1") == Array("POST /base/locks/a:1 HTTP/1.1\r\nHost: h:1\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)".utf8))
        let semaphore = LockRequests(target: try BenchTarget(url: "http://h:1"), ttlMs: 5000, waitMs: 250, limit: 4)
        #expect(String(decoding: semaphore.acquire(name: "a"), as: UTF8.self).hasSuffix(#"{"ttl_ms":5000,"wait_ms":250,"limit":4}"#))
        let delayed = LockRequests(target: try BenchTarget(url: "http://h:1"), ttlMs: 5000, waitMs: 0, lockDelayMs: 2500)
        #expect(String(decoding: delayed.acquire(name: "a"), as: UTF8.self).hasSuffix(#"{"ttl_ms":5000,"wait_ms":0,"lock_delay_ms":2500}"#))
        let reader = LockRequests(target: try BenchTarget(url: "http://h:1"), ttlMs: 5000, waitMs: 0, shared: true)
        #expect(String(decoding: reader.acquire(name: "a"), as: UTF8.self).hasSuffix(#"{"ttl_ms":5000,"wait_ms":0,"mode":"shared"}"#))
        var buffer = Array("left over".utf8)
        requests.release(name: "a:1", token: "tok_en-1", into: &buffer)
        #expect(buffer == Array("DELETE /base/locks/a:1 HTTP/1.1\r\nHost: h:1\r\nLock-Token: tok_en-1\r\n\r\n".utf8))
        let authorized = LockRequests(target: try BenchTarget(url: "http://h:1"), ttlMs: 5000, waitMs: 0, authToken: "s3cr3t")
        #expect(String(decoding: authorized.acquire(name: "a"), as: UTF8.self).hasPrefix("POST /locks/a HTTP/1.1\r\nHost: h:1\r\nAuthorization: Bearer s3cr3t\r\nContent-Type"))
        authorized.release(name: "a", token: "t", into: &buffer)
        #expect(buffer == Array("DELETE /locks/a HTTP/1.1\r\nHost: h:1\r\nAuthorization: Bearer s3cr3t\r\nLock-Token: t\r\n\r\n".utf8))
    }

    @Test func uncontendedClientsNeverShareANameAndCoverThemAll() throws {
        let plan = try NamePlan(base: "bench", runID: "0a1b2c3d", names: 10, clients: 4)
        #expect(!plan.isContended)
        let shares = (0..<4).map(plan.indices(forClient:))
        #expect(shares[1] == [1, 5, 9])
        #expect(shares.flatMap { $0 }.sorted() == Array(0..<10))
        #expect(plan.name(at: 7) == "bench:0a1b2c3d:7")
    }

    @Test func contendedClientsDrawFromEveryName() throws {
        let plan = try NamePlan(base: "bench", runID: "r", names: 4, clients: 64)
        #expect(plan.isContended)
        #expect(plan.indices(forClient: 63) == [0, 1, 2, 3])
    }

    @Test func rejectsBadPlans() {
        #expect(throws: BenchConfigError.self) { try NamePlan(base: "has space", runID: "r", names: 1, clients: 1) }
        #expect(throws: BenchConfigError.self) { try NamePlan(base: "", runID: "r", names: 1, clients: 1) }
        #expect(throws: BenchConfigError.self) { try NamePlan(base: "ok", runID: "r", names: 0, clients: 1) }
    }

    @Test func parsesRunLengths() {
        #expect(RunLength.seconds(from: "10") == 10)
        #expect(RunLength.seconds(from: "10s") == 10)
        #expect(RunLength.seconds(from: "1500ms") == 1.5)
        #expect(RunLength.seconds(from: "2m") == 120)
        for bad in ["", "s", "-1s", "0", "ten", "5h", "nan"] {
            #expect(RunLength.seconds(from: bad) == nil, "\(bad)")
        }
    }
}
