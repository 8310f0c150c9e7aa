import LockdTestSupport
import Foundation
import LockdTransport
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Waiting acquires over HTTP: hand-off, and a client that hangs up gives
/// its place away and is never granted.
@Suite struct WaitOverHTTPTests {
    @Test(arguments: StoreKind.allCases)
    func aWaitingRequestIsGrantedOnRelease(store: StoreKind) async throws {
        try await store.withLockd { lockd in
            let name = uniqueLockName()
            let holder = try await lockd.send("POST", "/locks/\(name)", body: #"{"ttl_ms":30000}"#)
            let token = try #require(holder.json["token"] as? String)
            async let waited = lockd.send("POST", "/locks/\(name)", body: #"{"ttl_ms":5000,"wait_ms":10000,"owner":"waiter"}"#)
            try await lockd.untilQueued(1, on: name)
            #expect(try await lockd.send("DELETE", "/locks/\(name)", headers: ["Lock-Token": token]).status == 204)
            let grant = try await waited
            #expect(grant.status == 201)
            #expect(grant.json["owner"] as? String == "waiter")
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aWaitThatTimesOutAnswers409(store: StoreKind) async throws {
        try await store.withLockd { lockd in
            let name = uniqueLockName()
            _ = try await lockd.send("POST", "/locks/\(name)", body: #"{"ttl_ms":30000}"#)
            let started = MonotonicClock.now()
            let refused = try await lockd.send("POST", "/locks/\(name)", body: #"{"wait_ms":300}"#)
            #expect(refused.status == 409)
            #expect(refused.json["type"] as? String == "lock-held")
            #expect((MonotonicClock.now() - started) / 1_000_000 >= 290)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aClientThatHangsUpWhileWaitingIsNeverGranted(store: StoreKind) async throws {
        try await store.withLockd { lockd in
            let name = uniqueLockName()
            let holder = try await lockd.send("POST", "/locks/\(name)", body: #"{"ttl_ms":30000}"#)
            let token = try #require(holder.json["token"] as? String)
            let gone = Task { try await lockd.send("POST", "/locks/\(name)", body: #"{"ttl_ms":30000,"wait_ms":20000,"owner":"gone"}"#) }
            while lockd.engine.waiterCount == 0 { try await Task.sleep(for: .milliseconds(10)) }
            gone.cancel()
            var waited = 0
            while lockd.engine.waiterCount > 0, waited < 5_000 {
                try await Task.sleep(for: .milliseconds(10))
                waited += 10
            }
            #expect(lockd.engine.waiterCount == 0)
            #expect(try await lockd.send("DELETE", "/locks/\(name)", headers: ["Lock-Token": token]).status == 204)
            try await Task.sleep(for: .milliseconds(200))
            let status = try await lockd.send("GET", "/locks/\(name)")
            #expect(status.json["held"] as? Bool == false)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func tokensNeverAppearInLogsAtTrace(store: StoreKind) async throws {
        try await store.withLockd { lockd in
            let name = uniqueLockName()
            var tokens: [String] = []
            let lease = try await lockd.send("POST", "/locks/\(name)", body: #"{"ttl_ms":5000}"#)
            tokens.append(lease.json["token"] as? String ?? "")
            _ = try await lockd.send("POST", "/locks/\(name)/renew", headers: ["Lock-Token": tokens[0]])
            _ = try await lockd.send("POST", "/locks/\(name)", body: #"{"token":"client-token-that-must-stay-secret"}"#)
            tokens.append("client-token-that-must-stay-secret")
            _ = try await lockd.send("DELETE", "/locks/\(name)", headers: ["Lock-Token": "wrong-but-well-formed-token-xyz"])
            tokens.append("wrong-but-well-formed-token-xyz")
            _ = try await lockd.send("DELETE", "/locks/\(name)", headers: ["Lock-Token": tokens[0]])
            let lines = lockd.logs.all
            #expect(!lines.isEmpty)
            for token in tokens where !token.isEmpty {
                #expect(!lines.contains { $0.contains(token) }, "a log line carries a token")
            }
        }
    }
}
