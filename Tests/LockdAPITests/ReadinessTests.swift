import LockdTestSupport
import Foundation
import Testing

@testable import LockdAPI

/// `/readyz` names the store, and when Redis refuses lockd it says why in
/// words — never an internal name, never the password.
@Suite struct ReadinessTests {
    @Test(arguments: [
        ("redis://:not-the-password@127.0.0.1:PORT", "password"),
        ("redis://:s3cret-pw@127.0.0.1:PORT/99", "database 99"),
        ("redis://127.0.0.1:PORT", "requires a password"),
    ])
    func readinessSaysWhyRedisRefusesLockd(url: String, cause: String) async throws {
        let redis = try await offThePool { try RedisServerFixture.start(arguments: ["--requirepass", "s3cret-pw"]) }
        defer { redis.stop() }
        try await TestLockd.with(redis: redis, configure: { $0.redisURL = url.replacingOccurrences(of: "PORT", with: "\(redis.port)") }) { lockd in
            var ready = try await lockd.send("GET", "/readyz")
            // The first attempt may still be under way: wait for its verdict.
            _ = try await eventually(within: .seconds(5)) {
                ready = try await lockd.send("GET", "/readyz")
                return (ready.json["detail"] as? String ?? "").contains(cause)
            }
            #expect(ready.status == 503)
            #expect(ready.json["store"] as? String == "redis")
            let detail = ready.json["detail"] as? String ?? ""
            #expect(detail.contains(cause), "\(detail)")
            for hidden in ["not-the-password", "s3cret-pw", "authenticationFailed", "databaseRejected"] {
                #expect(!detail.contains(hidden), "the detail shows \(hidden): \(detail)")
            }
            // A lock call still names no Redis internals.
            let acquire = try await lockd.send("POST", "/locks/\(uniqueLockName())")
            #expect(acquire.status == 503)
            #expect(!(acquire.json["detail"] as? String ?? "").lowercased().contains("redis"), "\(acquire.text)")
        }
    }
}
