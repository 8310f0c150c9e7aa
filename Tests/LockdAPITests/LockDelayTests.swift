import LockdTestSupport
import Foundation
import Testing

/// `lock_delay_ms` (Consul's lock-delay): a lease that expires keeps its
/// name (its slot) through the delay; one released is free at once. On
/// every store, and across two lockd instances on one Redis.
@Suite struct LockDelayTests {
    /// A lease that expired with a delay: `409 lock-held` with a Retry-After
    /// that counts the delay, no live holder, renew lost, fence not held;
    /// free once the delay has ended, and not before.
    @Test(arguments: StoreKind.allCases)
    func anExpiredLeaseKeepsTheNameThroughItsDelay(store: StoreKind) async throws {
        try await store.withLockd(logLevel: .info) { lockd in
            let name = uniqueLockName()
            let lease = try await lockd.send("POST", "/locks/\(name)", body: #"{"ttl_ms":300,"lock_delay_ms":3000}"#)
            #expect(lease.status == 201, "\(lease.text)")
            let token = try #require(lease.json["token"] as? String)
            let fence = try #require(lease.json["fence"] as? Int)
            let delayEnds = try Self.instant(lease.json["expires_at"]) + 3.0

            let expired = try await eventually(within: .seconds(10)) {
                try await lockd.send("GET", "/locks/\(name)/holders/\(fence)").status == 404
            }
            #expect(expired, "the lease never expired")
            let status = try await lockd.send("GET", "/locks/\(name)")
            let refused = try await lockd.send("POST", "/locks/\(name)", body: #"{"ttl_ms":5000}"#)
            let renewed = try await lockd.send("POST", "/locks/\(name)/renew", headers: ["Lock-Token": token])
            // Each holds while the delay runs (2.7 s of it are left at the
            // expiry, so only a stalled machine finds it over).
            if Date().timeIntervalSince1970 < delayEnds - 0.5 {
                #expect(refused.status == 409, "\(refused.text)")
                #expect(refused.json["type"] as? String == "lock-held")
                #expect((refused.json["holders"] as? [Any])?.isEmpty == true, "\(refused.text)")
                let retryAfter = try #require(refused.header("Retry-After").flatMap(Int.init))
                #expect(retryAfter >= 1 && retryAfter <= 5, "Retry-After \(retryAfter)")
                #expect(status.json["held"] as? Bool == false, "\(status.text)")
                #expect((status.json["holders"] as? [Any])?.isEmpty == true)
                let until = try Self.instant(status.json["delayed_until"])
                #expect(abs(until - delayEnds) < 0.05, "delayed_until \(until), expected \(delayEnds)")
                // Its own token is no retry of a lease that is gone.
                let again = try await lockd.send("POST", "/locks/\(name)", body: #"{"ttl_ms":5000,"token":"\#(token)"}"#)
                #expect(again.status == 409, "\(again.text)")
            }
            #expect(renewed.status == 409)
            #expect(renewed.json["type"] as? String == "lease-lost")
            #expect(try await lockd.send("DELETE", "/locks/\(name)", headers: ["Lock-Token": token]).status == 409)

            var taken: Double?
            let freedAfterDelay = try await eventually(within: .seconds(15), every: .milliseconds(50)) {
                guard try await lockd.send("POST", "/locks/\(name)", body: #"{"ttl_ms":5000}"#).status == 201 else { return false }
                taken = Date().timeIntervalSince1970
                return true
            }
            #expect(freedAfterDelay, "the name stayed unavailable long after the delay")
            let at = try #require(taken)
            #expect(at >= delayEnds - 0.02, "taken \(delayEnds - at) s before the delay ended")
            #expect(try await lockd.send("GET", "/locks/\(name)").json["delayed_until"] == nil)
        }
    }

    /// A release by the holder clears the delay: the name is free at once.
    @Test(arguments: StoreKind.allCases)
    func aReleasedLeaseLeavesNoDelay(store: StoreKind) async throws {
        try await store.withLockd(logLevel: .info) { lockd in
            for body in [#""limit":1"#, #""limit":2"#, #""mode":"shared""#] {
                let name = uniqueLockName()
                let lease = try await lockd.send("POST", "/locks/\(name)", body: #"{"ttl_ms":60000,"lock_delay_ms":60000,\#(body)}"#)
                let token = try #require(lease.json["token"] as? String, "\(lease.text)")
                let renewed = try await lockd.send("POST", "/locks/\(name)/renew", headers: ["Lock-Token": token])
                #expect(renewed.status == 200, "a live lease with a delay renews: \(renewed.text)")
                #expect(try await lockd.send("DELETE", "/locks/\(name)", headers: ["Lock-Token": token]).status == 204)
                let next = try await lockd.send("POST", "/locks/\(name)", body: #"{"ttl_ms":60000,\#(body.replacingOccurrences(of: "shared", with: "exclusive"))}"#)
                #expect(next.status == 201, "\(body): \(next.text)")
                #expect(try await lockd.send("GET", "/locks/\(name)").json["delayed_until"] == nil)
            }
        }
    }

    /// A force-release lets the delay run from then: the forced-out holder
    /// may still have writes in flight.
    @Test(arguments: StoreKind.allCases)
    func aForceReleasedLeaseKeepsTheNameThroughItsDelay(store: StoreKind) async throws {
        try await store.withLockd(logLevel: .info) { lockd in
            let name = uniqueLockName()
            let lease = try await lockd.send("POST", "/locks/\(name)", body: #"{"ttl_ms":60000,"lock_delay_ms":60000}"#)
            let fence = try #require(lease.json["fence"] as? Int, "\(lease.text)")
            #expect(try await lockd.send("DELETE", "/locks/\(name)?fence=\(fence)").status == 204)
            #expect(try await lockd.send("GET", "/locks/\(name)/holders/\(fence)").status == 404)
            let refused = try await lockd.send("POST", "/locks/\(name)", body: #"{"ttl_ms":5000}"#)
            #expect(refused.status == 409, "\(refused.text)")
            let retryAfter = try #require(refused.header("Retry-After").flatMap(Int.init))
            #expect(retryAfter > 50 && retryAfter <= 60, "Retry-After \(retryAfter)")
            // Forced out once: a second force-release finds no live lease.
            #expect(try await lockd.send("DELETE", "/locks/\(name)?fence=\(fence)").status == 404)
        }
    }

    /// A waiter that queued during the delay keeps its place and is granted
    /// when the delay ends: not before, and promptly (woken by its timer).
    @Test(arguments: StoreKind.allCases)
    func aWaiterIsGrantedWhenTheDelayEnds(store: StoreKind) async throws {
        try await store.withLockd(logLevel: .info, configure: Self.timerOnly) { lockd in
            let name = uniqueLockName()
            let lease = try await lockd.send("POST", "/locks/\(name)", body: #"{"ttl_ms":200,"lock_delay_ms":2000}"#)
            let fence = try #require(lease.json["fence"] as? Int, "\(lease.text)")
            let delayEnds = try Self.instant(lease.json["expires_at"]) + 2.0
            let expired = try await eventually(within: .seconds(10)) {
                try await lockd.send("GET", "/locks/\(name)/holders/\(fence)").status == 404
            }
            #expect(expired)
            let waiter = try await lockd.send("POST", "/locks/\(name)", body: #"{"ttl_ms":5000,"wait_ms":20000}"#)
            Self.expectGrantedWhenTheDelayEnds(waiter, delayEnds: delayEnds)
        }
    }

    /// A waiter's lease handed over by a release (on Redis, inside the
    /// release's script, from the wish the waiter left) keeps its delay.
    @Test(arguments: StoreKind.allCases)
    func aLeaseHandedToAWaiterKeepsItsDelay(store: StoreKind) async throws {
        try await store.withLockd(logLevel: .info) { lockd in
            let name = uniqueLockName()
            let holder = try await lockd.send("POST", "/locks/\(name)", body: #"{"ttl_ms":60000}"#)
            let holderToken = try #require(holder.json["token"] as? String)
            async let waiting = lockd.send("POST", "/locks/\(name)", body: #"{"ttl_ms":300,"lock_delay_ms":2000,"wait_ms":20000}"#)
            let queued = try await eventually(within: .seconds(10)) {
                try await lockd.send("GET", "/locks/\(name)").json["waiting"] as? Int == 1
            }
            #expect(queued)
            #expect(try await lockd.send("DELETE", "/locks/\(name)", headers: ["Lock-Token": holderToken]).status == 204)
            let waiter = try await waiting
            #expect(waiter.status == 201, "\(waiter.text)")
            let delayEnds = try Self.instant(waiter.json["expires_at"]) + 2.0
            let freedAfterDelay = try await eventually(within: .seconds(15), every: .milliseconds(50)) {
                try await lockd.send("POST", "/locks/\(name)", body: #"{"ttl_ms":5000}"#).status == 201
            }
            #expect(freedAfterDelay)
            #expect(Date().timeIntervalSince1970 >= delayEnds - 0.02, "taken before the handed lease's delay ended")
        }
    }

    /// On a semaphore an expired lease with a delay keeps only its own slot.
    @Test(arguments: StoreKind.allCases)
    func aSemaphoreSlotStaysTakenThroughItsDelay(store: StoreKind) async throws {
        try await store.withLockd(logLevel: .info) { lockd in
            let name = uniqueLockName()
            let first = try await lockd.send("POST", "/locks/\(name)", body: #"{"ttl_ms":200,"lock_delay_ms":3000,"limit":2}"#)
            let firstFence = try #require(first.json["fence"] as? Int, "\(first.text)")
            let delayEnds = try Self.instant(first.json["expires_at"]) + 3.0
            let firstExpired = try await eventually(within: .seconds(10)) {
                try await lockd.send("GET", "/locks/\(name)/holders/\(firstFence)").status == 404
            }
            #expect(firstExpired)
            // One slot is free beside the delayed one; the next finds none.
            let second = try await lockd.send("POST", "/locks/\(name)", body: #"{"ttl_ms":60000,"limit":2,"owner":"second"}"#)
            let third = try await lockd.send("POST", "/locks/\(name)", body: #"{"ttl_ms":60000,"limit":2}"#)
            let status = try await lockd.send("GET", "/locks/\(name)")
            if Date().timeIntervalSince1970 < delayEnds - 0.5 {
                #expect(second.status == 201, "\(second.text)")
                #expect(third.status == 409, "\(third.text)")
                #expect((third.json["holders"] as? [[String: Any]])?.map { $0["owner"] as? String } == ["second"], "\(third.text)")
                #expect(status.json["held"] as? Bool == true)
                #expect(status.json["delayed_until"] is String, "\(status.text)")
            }
            let slotFreedAfterDelay = try await eventually(within: .seconds(15), every: .milliseconds(50)) {
                try await lockd.send("POST", "/locks/\(name)", body: #"{"ttl_ms":60000,"limit":2}"#).status == 201
            }
            #expect(slotFreedAfterDelay)
            #expect(Date().timeIntervalSince1970 >= delayEnds - 0.02)
        }
    }

    /// An expired reader's delay holds off writers, not other readers
    /// (they do not conflict with its reads).
    @Test(arguments: StoreKind.allCases)
    func anExpiredReadersDelayHoldsOffWritersOnly(store: StoreKind) async throws {
        try await store.withLockd(logLevel: .info) { lockd in
            let name = uniqueLockName()
            let reader = try await lockd.send("POST", "/locks/\(name)", body: #"{"ttl_ms":200,"lock_delay_ms":5000,"mode":"shared"}"#)
            let fence = try #require(reader.json["fence"] as? Int, "\(reader.text)")
            let delayEnds = try Self.instant(reader.json["expires_at"]) + 5.0
            let expired = try await eventually(within: .seconds(10)) {
                try await lockd.send("GET", "/locks/\(name)/holders/\(fence)").status == 404
            }
            #expect(expired)
            let writer = try await lockd.send("POST", "/locks/\(name)", body: #"{"ttl_ms":60000}"#)
            let nextReader = try await lockd.send("POST", "/locks/\(name)", body: #"{"ttl_ms":60000,"mode":"shared"}"#)
            if Date().timeIntervalSince1970 < delayEnds - 0.5 {
                #expect(writer.status == 409, "\(writer.text)")
                #expect(nextReader.status == 201, "\(nextReader.text)")
            }
        }
    }

    /// A retried acquire changes the lease's TTL only: asking again with a
    /// delay adds none to a lease granted without one.
    @Test(arguments: StoreKind.allCases)
    func aRetryAddsNoDelay(store: StoreKind) async throws {
        try await store.withLockd(logLevel: .info) { lockd in
            let name = uniqueLockName()
            let token = "retry" + UUID().uuidString.replacingOccurrences(of: "-", with: "")
            let first = try await lockd.send("POST", "/locks/\(name)", body: #"{"ttl_ms":60000,"token":"\#(token)"}"#)
            #expect(first.status == 201, "\(first.text)")
            let retry = try await lockd.send("POST", "/locks/\(name)", body: #"{"ttl_ms":200,"lock_delay_ms":5000,"token":"\#(token)"}"#)
            #expect(retry.status == 200, "\(retry.text)")
            let fence = try #require(retry.json["fence"] as? Int)
            let expired = try await eventually(within: .seconds(10)) {
                try await lockd.send("GET", "/locks/\(name)/holders/\(fence)").status == 404
            }
            #expect(expired)
            // Expired without a delay: free at once.
            #expect(try await lockd.send("POST", "/locks/\(name)", body: #"{"ttl_ms":60000}"#).status == 201)
        }
    }

    /// A waiter on one lockd is served after the delay of a lease that
    /// expired on another lockd sharing the Redis.
    @Test func aWaiterOnAnotherInstanceIsGrantedWhenTheDelayEnds() async throws {
        try await StoreKind.redis.withRedis { redis in
            try await TestLockd.with(redis: redis, logLevel: .info, configure: Self.timerOnly) { first in
                try await TestLockd.with(redis: redis, logLevel: .info, configure: Self.timerOnly) { second in
                    let name = uniqueLockName()
                    let lease = try await first.send("POST", "/locks/\(name)", body: #"{"ttl_ms":300,"lock_delay_ms":1500}"#)
                    let delayEnds = try Self.instant(lease.json["expires_at"]) + 1.5
                    let waiter = try await second.send("POST", "/locks/\(name)", body: #"{"ttl_ms":5000,"wait_ms":20000}"#)
                    Self.expectGrantedWhenTheDelayEnds(waiter, delayEnds: delayEnds)
                }
            }
        }
    }

    /// `expired` is sent at the expiry itself, not when the delay ends.
    @Test(arguments: StoreKind.allCases)
    func theExpiredEventComesAtTheExpiryNotAtTheDelaysEnd(store: StoreKind) async throws {
        try await store.withLockd(logLevel: .info) { lockd in
            let prefix = uniqueLockName() + ":"
            let events = try await EventStreamReader.open(port: lockd.url.port, prefix: prefix)
            #expect(events.status == 200)
            let lease = try await lockd.send("POST", "/locks/\(prefix)d", body: #"{"ttl_ms":200,"lock_delay_ms":30000}"#)
            let expiresAt = try Self.instant(lease.json["expires_at"])
            #expect(try await events.next().event == "acquired")
            let expired = try await events.next()
            #expect(expired.event == "expired")
            #expect(expired.fence == lease.json["fence"] as? Int)
            let latency = Date().timeIntervalSince1970 - expiresAt
            #expect(latency > -0.05 && latency < 10, "expired \(latency) s after the expiry (the delay is 30 s)")
        }
    }

    @Test func anOutOfRangeDelayIsABadRequest() async throws {
        try await StoreKind.memory.withLockd(logLevel: .info) { lockd in
            for delay in ["-1", "60001", "1.5", "\"5s\""] {
                let reply = try await lockd.send("POST", "/locks/\(uniqueLockName())", body: #"{"lock_delay_ms":\#(delay)}"#)
                #expect(reply.status == 400, "lock_delay_ms \(delay): \(reply.text)")
                #expect(reply.json["type"] as? String == "invalid-request")
            }
            for delay in ["0", "60000"] {
                #expect(try await lockd.send("POST", "/locks/\(uniqueLockName())", body: #"{"lock_delay_ms":\#(delay)}"#).status == 201)
            }
        }
    }

    /// A waiter's answer, just received: granted, not before the delay
    /// ended (`delayEnds`, seconds since the epoch), and promptly after.
    private static func expectGrantedWhenTheDelayEnds(_ waiter: TestResponse, delayEnds: Double,
                                                      sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(waiter.status == 201, "\(waiter.text)", sourceLocation: sourceLocation)
        // When the store granted it (its lease's expiry less its TTL), not
        // when this test read the answer: a busy machine delays the answer.
        guard let expiresAt = try? instant(waiter.json["expires_at"]), let ttlMs = waiter.json["ttl_ms"] as? Int else {
            Issue.record("no lease in \(waiter.text)", sourceLocation: sourceLocation)
            return
        }
        let granted = expiresAt - Double(ttlMs) / 1_000
        #expect(granted >= delayEnds - 0.02, "granted \(delayEnds - granted) s before the delay ended", sourceLocation: sourceLocation)
        // Only its timer wakes it (see ``timerOnly``): granted at all within
        // its 20 s wait is prompt; the bound leaves a busy machine seconds.
        #expect(granted < delayEnds + 10, "granted \(granted - delayEnds) s after the delay ended", sourceLocation: sourceLocation)
    }

    /// Queue checks (every 5 s by default) out of a waiting test's way: a
    /// waiter whose timer does not wake it when a delay ends is then not
    /// granted within its wait at all, which no busy machine can mimic.
    private static func timerOnly(_ configuration: inout TestLockd.Configuration) {
        configuration.engine.queueCheckInterval = .seconds(120)
    }

    /// An RFC 3339 instant from a reply, in seconds since the epoch.
    private static func instant(_ value: Any?) throws -> Double {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        guard let text = value as? String, let date = formatter.date(from: text) else { throw TestFailure("not an instant: \(value ?? "nil")") }
        return date.timeIntervalSince1970
    }
}
