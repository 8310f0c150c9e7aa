import Foundation
import LockdTestSupport
import LockdTransport
import Testing

/// A lock request that may wait, answered by a promise (on Redis): granted
/// from its first reply when the name is free, answered as before when it
/// waits — the same status, fields and problem, its wait named in a 409.
@Suite struct WaitingPromisedAnswerTests {
    @Test(arguments: StoreKind.allCases)
    func aWaitingRequestForAFreeNameIsAnsweredAsOneThatDoesNotWait(store: StoreKind) async throws {
        try await store.withLockd { lockd in
            let plain = try await lockd.send("POST", "/locks/\(uniqueLockName())", body: #"{"ttl_ms":30000,"owner":"o"}"#)
            let waiting = try await lockd.send("POST", "/locks/\(uniqueLockName())", body: #"{"ttl_ms":30000,"wait_ms":5000,"owner":"o"}"#)
            #expect(plain.status == 201)
            #expect(waiting.status == 201)
            #expect(Set(waiting.json.keys) == Set(plain.json.keys))
            #expect(waiting.headers["Content-Type"] == plain.headers["Content-Type"])
            #expect(waiting.json["ttl_ms"] as? Int == 30_000)
            #expect(waiting.json["owner"] as? String == "o")
            #expect(lockd.engine.waiterCount == 0)
            // The lease is held, under the token answered.
            let token = try #require(waiting.json["token"] as? String)
            let name = try #require(waiting.json["name"] as? String)
            #expect(try await lockd.send("DELETE", "/locks/\(name)", headers: ["Lock-Token": token]).status == 204)
        }
    }

    /// The 409 after a wait says how long the request waited (a promised
    /// answer that forgot its wait would say the name was held, as to a
    /// request that did not wait).
    @Test(arguments: StoreKind.allCases)
    func aWaitThatEndsHeldNamesItsWaitInThe409(store: StoreKind) async throws {
        try await store.withLockd { lockd in
            let name = uniqueLockName()
            #expect(try await lockd.send("POST", "/locks/\(name)", body: #"{"ttl_ms":30000}"#).status == 201)
            let refused = try await lockd.send("POST", "/locks/\(name)", body: #"{"ttl_ms":30000,"wait_ms":300}"#)
            #expect(refused.status == 409)
            #expect(refused.json["type"] as? String == "lock-held" || (refused.json["type"] as? String)?.hasSuffix("lock-held") == true)
            let detail = refused.json["detail"] as? String ?? ""
            #expect(detail.contains("after waiting 300 ms"), "\(detail)")
            #expect(lockd.engine.waiterCount == 0)
        }
    }
}
