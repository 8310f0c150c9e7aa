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

/// 503 and transport failures are retried with backoff, honouring `Retry-After`,
/// within the caller's budget; a try surfaces them only once the client's
/// timeout is spent.
@Suite("Retries of 503 and transport failures")
struct RetryTests {
    /// Answers the first `failures` requests of `operation` itself — 503 with
    /// `Retry-After: 1`, or a refused connection — and passes the rest to lockd.
    final class Flaky: ClientTransport {
        enum Failure: Sendable { case unavailable, refused }
        let inner = URLSessionTransport()
        let operation: String
        let failure: Failure
        let remaining: Mutex<Int>
        /// Requests of `operation` that reached this transport.
        let attempts = Mutex(0)

        init(_ operation: String, failing failures: Int, with failure: Failure) {
            self.operation = operation
            self.failure = failure
            self.remaining = Mutex(failures)
        }

        func send(
            _ request: HTTPRequest, body: HTTPBody?, baseURL: URL, operationID: String
        ) async throws -> (HTTPResponse, HTTPBody?) {
            guard operationID == operation else {
                return try await inner.send(request, body: body, baseURL: baseURL, operationID: operationID)
            }
            attempts.withLock { $0 += 1 }
            let fail = remaining.withLock { remaining in
                defer { remaining -= 1 }
                return remaining > 0
            }
            guard fail else { return try await inner.send(request, body: body, baseURL: baseURL, operationID: operationID) }
            switch failure {
            case .refused:
                throw URLError(.cannotConnectToHost)
            case .unavailable:
                let problem = #"{"type":"unavailable","title":"Service Unavailable","status":503,"detail":"lockd cannot reach its store"}"#
                let response = HTTPResponse(
                    status: .serviceUnavailable,
                    headerFields: [.retryAfter: "1", .contentType: "application/problem+json"]
                )
                return (response, HTTPBody(problem))
            }
        }
    }

    @Test("an acquire answered 503 waits out Retry-After and is granted")
    func acquireHonoursRetryAfter() async throws {
        try await StoreKind.memory.withLockd { lockd in
            let transport = Flaky("acquireLock", failing: 1, with: .unavailable)
            let locks = LockClient(serverURL: lockd.url, transport: transport)
            let start = ContinuousClock.now
            let lease = try #require(try await locks.tryAcquire(uniqueLockName()))
            #expect(ContinuousClock.now - start >= .seconds(1))
            #expect(transport.attempts.withLock { $0 } == 2)
            try await lease.release()
        }
    }

    @Test("503 beyond the client's timeout surfaces as unavailable")
    func unavailableBeyondTheTimeout() async throws {
        try await StoreKind.memory.withLockd { lockd in
            let transport = Flaky("acquireLock", failing: .max, with: .unavailable)
            let locks = LockClient(serverURL: lockd.url, transport: transport, timeout: .milliseconds(1500))
            let start = ContinuousClock.now
            await #expect { _ = try await locks.tryAcquire(uniqueLockName()) } throws: { error in
                if case LockError.unavailable(let retryAfter) = error { retryAfter == .seconds(1) } else { false }
            }
            #expect(ContinuousClock.now - start >= .milliseconds(1500))
            #expect(transport.attempts.withLock { $0 } >= 2)
        }
    }

    @Test("renewals that cannot connect are retried before the lease runs out")
    func renewalsRetried() async throws {
        try await StoreKind.memory.withLockd { lockd in
            let transport = Flaky("renewLock", failing: 3, with: .refused)
            let locks = LockClient(serverURL: lockd.url, transport: transport)
            let ttl = Duration.seconds(3)
            let lease = try await locks.acquire(uniqueLockName(), ttl: ttl, wait: .zero)
            let firstExpiry = lease.expiresAt
            // The first renewal (at a third of the TTL) fails three times, then gets through.
            let renewed = await eventually(within: ttl * 2) { lease.expiresAt > firstExpiry || lease.isLost }
            #expect(renewed)
            #expect(!lease.isLost)
            #expect(transport.attempts.withLock { $0 } >= 4)
            try await lease.release()
        }
    }

    @Test("a release whose first answer was lost is not reported as a loss")
    func releaseRetriedAfterLostAnswer() async throws {
        final class LosesFirstReleaseAnswer: ClientTransport {
            let inner = URLSessionTransport()
            let lost = Mutex(false)
            func send(_ request: HTTPRequest, body: HTTPBody?, baseURL: URL, operationID: String) async throws -> (HTTPResponse, HTTPBody?) {
                let answer = try await inner.send(request, body: body, baseURL: baseURL, operationID: operationID)
                let loseIt = operationID == "releaseLock" && lost.withLock { lost in
                    defer { lost = true }
                    return !lost
                }
                if loseIt { throw URLError(.networkConnectionLost) }
                return answer
            }
        }
        try await StoreKind.memory.withLockd { lockd in
            let locks = LockClient(serverURL: lockd.url, transport: LosesFirstReleaseAnswer())
            let name = uniqueLockName()
            let lease = try await locks.acquire(name, wait: .zero)
            try await lease.release()  // the retry finds the lease gone: its own doing
            #expect(!lease.isLost)
            #expect(try await lease.waitUntilLost() == false)
            #expect(try await locks.status(name).isHeld == false)
        }
    }
}
