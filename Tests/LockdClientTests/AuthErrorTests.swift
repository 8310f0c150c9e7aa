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

/// ``LockClient/forceRelease(_:fence:)``: an `admin` client ends another's
/// lease by its fence; the holder's lease is lost, a second try is
/// ``LockError/notHeld(fence:)``, and a client without `admin` is refused.
@Suite struct ForceReleaseTests {
    @Test func anAdminEndsAStuckLeaseByItsFence() async throws {
        let base = uniqueLockName()
        func entry(_ id: String, _ actions: String) -> String {
            let hex = SHA256Digest(hashing: "secret-\(id)-\(base)")?.hex ?? ""
            return #"{"id": "\#(id)", "sha256": "\#(hex)", "grants": [{"names": "\#(base):*", "actions": [\#(actions)]}]}"#
        }
        let policy = try AuthFile.parse(Array(#"{"clients": [\#(entry("worker", #""lock", "read""#)), \#(entry("oncall", #""admin""#))]}"#.utf8),
                                        file: "test")
        try await StoreKind.memory.withLockd(configure: { $0.authPolicy = policy }) { lockd in
            let worker = LockClient(serverURL: lockd.url, timeout: .seconds(30), bearerToken: "secret-worker-\(base)")
            let oncall = LockClient(serverURL: lockd.url, timeout: .seconds(30), bearerToken: "secret-oncall-\(base)")
            let name = "\(base):stuck"
            let lease = try #require(try await worker.tryAcquire(name, ttl: .seconds(60), autoRenew: false))
            do {
                try await worker.forceRelease(name, fence: lease.fence)
                Issue.record("force-released without admin")
            } catch LockError.forbidden(let detail) {
                #expect(detail.contains("admin"), "\(detail)")
            }
            try await oncall.forceRelease(name, fence: lease.fence)
            #expect(try await worker.status(name).holders.isEmpty)
            await #expect(throws: LockError.self) { try await lease.renew() }
            do {
                try await oncall.forceRelease(name, fence: lease.fence)
                Issue.record("force-released a lease twice")
            } catch LockError.notHeld(let fence) {
                #expect(fence == lease.fence)
            }
        }
    }
}
