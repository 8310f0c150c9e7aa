import Foundation
import LockdAuth
import LockdClient
import LockdTestSupport
import Testing

/// With `--auth-file`, a 401 or 403 reaches the caller as ``LockError/unauthorized(detail:)``
/// or ``LockError/forbidden(detail:)`` at the first answer: neither is retried.
/// Each holder shows the client that took it.
@Suite struct AuthErrorTests {
    @Test func unauthorizedAndForbiddenAreClearAndNotRetried() async throws {
        let base = uniqueLockName()
        let secret = "sdk-secret-\(base)"
        let hex = SHA256Digest(hashing: secret)?.hex ?? ""
        let policy = try AuthFile.parse(Array(#"""
            {"clients": [{"id": "sdk", "sha256": "\#(hex)", "grants": [{"names": "\#(base):*", "actions": ["lock", "read"]}]}]}
            """#.utf8), file: "test")
        try await StoreKind.memory.withLockd(configure: { $0.authPolicy = policy }) { lockd in
            let recording = BearerTokenAndAcquireFieldsTests.Recording()
            let anonymous = LockClient(serverURL: lockd.url, transport: recording, timeout: .seconds(30))
            do {
                _ = try await anonymous.tryAcquire("\(base):1", autoRenew: false)
                Issue.record("acquired without a token")
            } catch LockError.unauthorized(let detail) {
                #expect(detail.contains("bearer token"), "\(detail)")
            }
            #expect(recording.sent.withLock { $0.count } == 1, "a 401 is not retried")

            let wrong = LockClient(serverURL: lockd.url, timeout: .seconds(30), bearerToken: "not-\(secret)")
            await #expect(throws: LockError.self) { _ = try await wrong.status("\(base):1") }

            let scoped = BearerTokenAndAcquireFieldsTests.Recording()
            let locks = LockClient(serverURL: lockd.url, transport: scoped, timeout: .seconds(30), bearerToken: secret)
            do {
                _ = try await locks.status("elsewhere-\(base)")
                Issue.record("read a name outside the grant")
            } catch LockError.forbidden(let detail) {
                #expect(detail.contains("'sdk'") && detail.contains("elsewhere-\(base)"), "\(detail)")
                #expect("\(LockError.forbidden(detail: detail))".hasPrefix("forbidden: "))
            }
            #expect(scoped.sent.withLock { $0.count } == 1, "a 403 is not retried")
            let lease = try #require(try await locks.tryAcquire("\(base):1", autoRenew: false))
            #expect(try await locks.status("\(base):1").holders.map(\.client) == ["sdk"])
            try await lease.release()
        }
    }
}
