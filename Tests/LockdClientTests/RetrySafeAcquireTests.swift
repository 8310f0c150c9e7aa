import LockdTestSupport
import Foundation
import HTTPTypes
import LockdClient
import OpenAPIRuntime
import OpenAPIURLSession
import Synchronization
import Testing

@Suite("Retry-safe acquire")
struct RetrySafeAcquireTests {
    /// Delivers the first acquire to lockd, then loses its answer, as a dropped
    /// connection would.
    final class LosesFirstAcquireAnswer: ClientTransport {
        let inner = URLSessionTransport()
        /// How many acquires went through this transport.
        let acquires = Mutex(0)

        func send(
            _ request: HTTPRequest, body: HTTPBody?, baseURL: URL, operationID: String
        ) async throws -> (HTTPResponse, HTTPBody?) {
            let (response, responseBody) = try await inner.send(request, body: body, baseURL: baseURL, operationID: operationID)
            let loseThisOne = operationID == "acquireLock" && acquires.withLock { count in
                count += 1
                return count == 1
            }
            if loseThisOne { throw URLError(.networkConnectionLost) }
            return (response, responseBody)
        }
    }

    @Test("an acquire whose answer is lost is retried with the same token and gets the same lease", arguments: StoreKind.allCases)
    func lostAnswerIsRetried(store: StoreKind) async throws {
        try await store.withLockd { lockd async throws in
            let transport = LosesFirstAcquireAnswer()
            let locks = LockClient(serverURL: lockd.url, transport: transport, owner: "flaky-network")
            let name = uniqueLockName()
            let lease = try #require(try await locks.tryAcquire(name, ttl: .seconds(10)))
            #expect(transport.acquires.withLock { $0 } == 2)
            // One lease only: the retry found its own grant, not a held lock.
            let status = try await lockd.client().status(name)
            #expect(status.holders.map(\.fence) == [lease.fence])
            try await lease.release()
        }
    }
}
