import Foundation
import LockdTestSupport
import LockEngine
import Testing

/// review20 (wip-wait33): a waiting lock request is promised on Redis now.
/// A client that hangs up — before the first reply, or while it waits in
/// the queue — leaves no place in the queue, no entry in the registry, a
/// waiting gauge back at 0, and is never handed the name; the gauge counts
/// a waiting request while it waits.
@Suite(.serialized) struct Review20WaitingHangUpTests {
    @Test(arguments: StoreKind.allCases)
    func aClientHangingUpWhileQueuedLeavesNothingAndTheGaugeFollows(store: StoreKind) async throws {
        try await store.withLockd { lockd in
            let name = uniqueLockName()
            let held = try await lockd.send("POST", "/locks/\(name)", body: #"{"ttl_ms":60000}"#)
            #expect(held.status == 201)
            let token = try #require(held.json["token"] as? String)
            let client = try await offThePool { try RawHTTPClient(port: UInt16(lockd.url.port ?? 0)) }
            let body = #"{"ttl_ms":60000,"wait_ms":20000}"#
            try client.send("POST /locks/\(name) HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
            try await lockd.untilQueued(1, on: name)
            #expect(try await Self.waiters(lockd) == 1, "the gauge does not count the waiting request")
            client.close()
            let left = await eventually(within: .seconds(10)) { (try? await lockd.engine.status(of: LockName(name)).waiting) == 0 }
            #expect(left, "the request of a client that hung up kept its place")
            let gaugeBack = await eventually(within: .seconds(5)) { (try? await Self.waiters(lockd)) == 0 }
            #expect(gaugeBack, "the waiting gauge did not go back to 0")
            #expect(lockd.engine.waiterCount == 0)
            #expect(try await lockd.send("DELETE", "/locks/\(name)", headers: ["Lock-Token": token]).status == 204)
            try await Task.sleep(for: .milliseconds(200))
            #expect(try await lockd.engine.status(of: LockName(name)).isHeld == false, "the name was handed to a client that hung up")
        }
    }

    /// Redis paused: the waiting request's first attempt is written, not
    /// answered; the client hangs up; Redis runs again.
    @Test func aClientHangingUpBeforeTheFirstReplyLeavesNothing() async throws {
        try await StoreKind.redis.withLockd { lockd in
            let redis = try #require(lockd.redis)
            let name = uniqueLockName()
            let held = try await lockd.send("POST", "/locks/\(name)", body: #"{"ttl_ms":60000}"#)
            let token = try #require(held.json["token"] as? String)
            let client = try await offThePool { try RawHTTPClient(port: UInt16(lockd.url.port ?? 0)) }
            redis.pause()
            let body = #"{"ttl_ms":60000,"wait_ms":20000}"#
            try client.send("POST /locks/\(name) HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
            try await Task.sleep(for: .milliseconds(100))
            client.close()
            try await Task.sleep(for: .milliseconds(100))
            redis.resume()
            let left = await eventually(within: .seconds(10)) { (try? await lockd.engine.status(of: LockName(name)).waiting) == 0 }
            #expect(left, "the request of a client that hung up kept its place")
            let unregistered = await eventually(within: .seconds(5)) { lockd.engine.waiterCount == 0 }
            #expect(unregistered)
            let gaugeBack = await eventually(within: .seconds(5)) { (try? await Self.waiters(lockd)) == 0 }
            #expect(gaugeBack, "the waiting gauge did not go back to 0")
            #expect(try await lockd.send("DELETE", "/locks/\(name)", headers: ["Lock-Token": token]).status == 204)
            try await Task.sleep(for: .milliseconds(200))
            #expect(try await lockd.engine.status(of: LockName(name)).isHeld == false, "the name was handed to a client that hung up")
        }
    }

    /// The `lockd_waiters` gauge.
    static func waiters(_ lockd: TestLockd) async throws -> Int {
        let metrics = try await lockd.send("GET", "/metrics")
        for line in metrics.text.split(separator: "\n") where line.hasPrefix("lockd_waiters ") {
            if let value = line.split(separator: " ").last.flatMap({ Double($0) }) { return Int(value) }
        }
        throw TestFailure("no lockd_waiters in /metrics")
    }
}
