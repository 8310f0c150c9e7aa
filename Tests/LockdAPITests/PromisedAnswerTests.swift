import Foundation
import LockdTestSupport
import Testing

/// Review of issue 22 (answers given without a task): lock requests pipelined
/// on one keep-alive connection — promised answers (a Redis acquire or
/// release) between answers given at once and answers from a task — are
/// answered in order, each with its own request's id; a client that hangs up
/// while its acquire is in flight leaves nothing held.
@Suite struct PromisedAnswerTests {
    @Test(arguments: StoreKind.allCases)
    func pipelinedLockRequestsAreAnsweredInOrderWithTheirOwnRequestIDs(store: StoreKind) async throws {
        try await store.withLockd { lockd in
            let name = uniqueLockName()
            let token = "review1-pipelined-" + String(repeating: "t", count: 16)
            let client = try RawHTTPClient(port: UInt16(lockd.url.port ?? 0))
            defer { client.close() }
            func request(_ method: String, _ path: String, id: String, body: String = "", headers: [String] = []) -> String {
                var head = "\(method) \(path) HTTP/1.1\r\nHost: lockd\r\nX-Request-Id: \(id)\r\n"
                for header in headers { head += header + "\r\n" }
                return head + "Content-Length: \(body.utf8.count)\r\n\r\n" + body
            }
            // Promised (Redis) or at once (memory), at once, from a task,
            // promised, promised, from a task, at once.
            let requests: [(id: String, text: String, status: Int)] = [
                ("r1-acquire", request("POST", "/locks/\(name)", id: "r1-acquire", body: #"{"ttl_ms":60000,"token":"\#(token)"}"#), 201),
                ("r2-health", request("GET", "/healthz", id: "r2-health"), 200),
                ("r3-status", request("GET", "/locks/\(name)", id: "r3-status"), 200),
                ("r4-held", request("POST", "/locks/\(name)", id: "r4-held", body: #"{"ttl_ms":60000}"#), 409),
                ("r5-release", request("DELETE", "/locks/\(name)", id: "r5-release", headers: ["Lock-Token: \(token)"]), 204),
                ("r6-status", request("GET", "/locks/\(name)", id: "r6-status"), 200),
                ("r7-lost", request("DELETE", "/locks/\(name)", id: "r7-lost", headers: ["Lock-Token: \(token)"]), 409),
            ]
            try client.send(requests.map(\.text).joined())
            var answers: [RawHTTPResponse] = []
            for _ in requests { answers.append(try await client.readResponse()) }
            #expect(answers.map { $0.header("X-Request-Id") ?? "-" } == requests.map(\.id))
            #expect(answers.map(\.status) == requests.map(\.status), "\(answers.map(\.text))")
            #expect(answers[2].text.contains(#""held":true"#), "\(answers[2].text)")
            #expect(answers[5].text.contains(#""held":false"#), "\(answers[5].text)")
        }
    }

    /// The client hangs up while its acquire waits for a stopped Redis; when
    /// Redis runs again and grants it, the grant is given back.
    @Test func aClientThatHangsUpDuringAPromisedAcquireLeavesNothingHeld() async throws {
        try await StoreKind.redis.withLockd { lockd in
            let redis = try #require(lockd.redis)
            let name = uniqueLockName()
            let client = try RawHTTPClient(port: UInt16(lockd.url.port ?? 0))
            redis.pause()
            let body = #"{"ttl_ms":60000}"#
            try client.send("POST /locks/\(name) HTTP/1.1\r\nHost: lockd\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body)
            // The request is read before the end of input that follows it.
            client.close()
            let closed = await eventually(within: .seconds(5)) { lockd.server.openConnectionCount == 0 }
            #expect(closed)
            // Its acquire was in flight, and abandoned with its client.
            let cancelled = await eventually(within: .seconds(5)) {
                let text = (try? await lockd.send("GET", "/metrics").text) ?? ""
                return MetricsScrape(text).sum("lockd_store_errors_total", ["operation": "acquire", "kind": "cancelled"]) >= 1
            }
            #expect(cancelled, "the acquire was not cancelled when its client hung up")
            redis.resume()
            var holders = -1
            _ = await eventually(within: .seconds(10)) {
                let status = try? await lockd.send("GET", "/locks/\(name)")
                holders = (status?.json["holders"] as? [Any])?.count ?? -1
                return holders == 0
            }
            #expect(holders == 0, "a grant to a client that hung up was left held")
        }
    }

    /// Redis stops while an acquire and a release are in flight: both
    /// promises are kept, 503, within a few command timeouts.
    @Test func aStoppedRedisAnswersPromisedAcquiresAndReleases503() async throws {
        try await StoreKind.redis.withLockd { lockd in
            let redis = try #require(lockd.redis)
            let held = uniqueLockName()
            let lease = try await lockd.send("POST", "/locks/\(held)", body: #"{"ttl_ms":60000}"#)
            let token = try #require(lease.json["token"] as? String)
            redis.pause()
            async let acquired = lockd.send("POST", "/locks/\(uniqueLockName())", body: #"{"ttl_ms":60000}"#)
            async let released = lockd.send("DELETE", "/locks/\(held)", headers: ["Lock-Token": token])
            let (acquire, release) = try await (acquired, released)
            redis.resume()
            #expect(acquire.status == 503, "\(acquire.text)")
            #expect(release.status == 503, "\(release.text)")
            #expect(acquire.header("Retry-After") != nil)
            // Redis back: served again.
            let accepted = await eventually(within: .seconds(5)) {
                (try? await lockd.send("POST", "/locks/\(uniqueLockName())", body: #"{"ttl_ms":1000}"#))?.status == 201
            }
            #expect(accepted)
        }
    }

    /// NOT a regression of issue 22 (main's task path fails the same way:
    /// a timeout is not a cancellation, so nothing is given back): an acquire
    /// whose script was written before Redis stopped (the connection is
    /// ready: a lease was taken first) is answered 503 when the command
    /// times out, but Redis runs the script when it resumes — the lease is
    /// then held for its whole TTL by nobody (the client was told 503 and has
    /// no token to release it with). Without the first lease the script is
    /// never written (held for a connection) and nothing is granted.
    /// An acquire whose script was written, whose reply timed out (503), and
    /// which Redis ran on waking: its lockd-made token is given back, so no
    /// lease is held by no one for its TTL (a client's own token is not: the
    /// client may hold that lease).
    @Test
    func anAcquireAnswered503WhileRedisWasStoppedIsNotGrantedWhenRedisRunsAgain() async throws {
        try await StoreKind.redis.withLockd { lockd in
            let redis = try #require(lockd.redis)
            let held = uniqueLockName()
            let lease = try await lockd.send("POST", "/locks/\(held)", body: #"{"ttl_ms":60000}"#)
            let token = try #require(lease.json["token"] as? String)
            let name = uniqueLockName()
            redis.pause()
            // A release in flight too: the first command to time out fails both.
            async let acquired = lockd.send("POST", "/locks/\(name)", body: #"{"ttl_ms":60000}"#)
            async let released = lockd.send("DELETE", "/locks/\(held)", headers: ["Lock-Token": token])
            let (acquire, _) = try await (acquired, released)
            redis.resume()
            #expect(acquire.status == 503, "\(acquire.text)")
            #expect(await Self.becomesFree(name, on: lockd), "an acquire answered 503 was granted once Redis ran again, and is held for its whole TTL")
        }
    }

    /// As above, for an acquire that waits: its attempts, written while Redis
    /// was stopped, run when Redis resumes, after lockd answered 503 at the
    /// end of the outage's grace; leaving the queue (written after them)
    /// must take back what they were granted.
    @Test
    func aWaitingAcquireAnswered503WhileRedisWasStoppedIsNotGrantedWhenRedisRunsAgain() async throws {
        try await StoreKind.redis.withLockd { lockd in
            let redis = try #require(lockd.redis)
            let name = uniqueLockName()
            redis.pause()
            let acquire = try await lockd.send("POST", "/locks/\(name)", body: #"{"ttl_ms":60000,"wait_ms":30000}"#)
            redis.resume()
            #expect(acquire.status == 503, "\(acquire.text)")
            #expect(await Self.becomesFree(name, on: lockd), "a waiting acquire answered 503 was granted once Redis ran again, and is held for its whole TTL")
        }
    }

    /// Whether `name` soon has no holders (within 5 s, time for the upkeep
    /// to give a lease back once Redis runs again).
    private static func becomesFree(_ name: String, on lockd: TestLockd) async -> Bool {
        await eventually(within: .seconds(5)) {
            let status = try? await lockd.send("GET", "/locks/\(name)")
            return (status?.json["holders"] as? [Any])?.count == 0
        }
    }
}
