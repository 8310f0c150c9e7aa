import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import HTTPTypes
import LockdClient
import LockdTestSupport
import OpenAPIRuntime
import OpenAPIURLSession
import Synchronization
import Testing

/// review4: a release by token (`LockClient.release(_:token:)`, what `lockd
/// release --lock-token` calls) and a force-release by fence whose first
/// attempt went through but was answered 503 — lockd lost its store after
/// sending the release — are not reported as a lost lease / a fence no one
/// holds when the retry finds the lease gone: that is the call's own doing.
/// `Lease.release()` already treats a 503 so (LeaseState.releaseUncertain);
/// the token and fence calls counted only transport failures.
@Suite struct TokenReleaseReviewTests {
    /// Passes every request to lockd; the first `releaseLock` answer is
    /// replaced by a 503, as lockd answers when its store's reply is lost.
    final class AnswersFirstRelease503: ClientTransport {
        let inner = URLSessionTransport()
        let replaced = Mutex(false)

        func send(_ request: HTTPRequest, body: HTTPBody?, baseURL: URL, operationID: String) async throws -> (HTTPResponse, HTTPBody?) {
            let answer = try await inner.send(request, body: body, baseURL: baseURL, operationID: operationID)
            let replace = operationID == "releaseLock" && replaced.withLock { replaced in
                defer { replaced = true }
                return !replaced
            }
            guard replace else { return answer }
            #expect(answer.0.status == .noContent, "the first release did not go through: the test proves nothing")
            let problem = #"{"type":"unavailable","title":"Service Unavailable","status":503,"detail":"the lock store is unavailable; try again shortly"}"#
            return (HTTPResponse(status: .serviceUnavailable, headerFields: [.retryAfter: "1", .contentType: "application/problem+json"]),
                    HTTPBody(problem))
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aReleaseByTokenThatWentThroughBeforeA503IsNotALoss(store: StoreKind) async throws {
        try await store.withLockd(logLevel: .info) { lockd in
            let transport = AnswersFirstRelease503()
            let locks = LockClient(serverURL: lockd.url, transport: transport, timeout: .seconds(5))
            let name = uniqueLockName()
            let lease = try await locks.acquire(name, wait: .zero, autoRenew: false)
            await #expect(throws: Never.self, "its own first attempt released it") {
                try await locks.release(name, token: lease.token)
            }
            #expect(transport.replaced.withLock { $0 })
            #expect(try await locks.status(name).isHeld == false)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aForceReleaseThatWentThroughBeforeA503IsNotAMissingFence(store: StoreKind) async throws {
        try await store.withLockd(logLevel: .info) { lockd in
            let transport = AnswersFirstRelease503()
            let locks = LockClient(serverURL: lockd.url, transport: transport, timeout: .seconds(5))
            let name = uniqueLockName()
            let lease = try await locks.acquire(name, wait: .zero, autoRenew: false)
            await #expect(throws: Never.self, "its own first attempt ended that lease") {
                try await locks.forceRelease(name, fence: lease.fence)
            }
            #expect(transport.replaced.withLock { $0 })
            #expect(try await locks.status(name).isHeld == false)
        }
    }

    /// The same 503 to a lease's own release, for comparison: not a loss.
    @Test func aLeaseReleaseThatWentThroughBeforeA503IsNotALoss() async throws {
        try await StoreKind.memory.withLockd(logLevel: .info) { lockd in
            let locks = LockClient(serverURL: lockd.url, transport: AnswersFirstRelease503(), timeout: .seconds(5))
            let lease = try await locks.acquire(uniqueLockName(), wait: .zero, autoRenew: false)
            await #expect(throws: Never.self) { try await lease.release() }
            #expect(!lease.isLost)
        }
    }
}
