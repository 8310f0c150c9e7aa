import Foundation
import LockdTestSupport
import Testing

/// "Fail fast on what can never work, retry what can": against a real
/// redis-server with a password and a TLS port, each setting Redis refuses
/// stops lockd at start (exit 64, naming the setting and the cause); an
/// unreachable Redis is retried while lockd serves; a refusal after start is
/// logged at error once per 10 s and shown in /readyz.
@Suite struct FailFastTests {
    static let password = "s3cret-pw-\(UInt32.random(in: 0...UInt32.max))"

    @Test func aSettingRedisRefusesStopsLockdAtStartNamingTheSettingAndTheCause() async throws {
        let certificates = try TestCertificates.shared()
        let redis = try await offThePool {
            try RedisServerFixture.start(arguments: ["--requirepass", Self.password], tls: .init(certificates: certificates))
        }
        defer { redis.stop() }
        let port = redis.port
        let tlsPort = try #require(redis.tlsPort)
        let pw = Self.password
        let cases: [(arguments: [String], environment: [String: String], setting: String, cause: String)] = [
            (["--redis", "redis://:wrong-\(pw)@127.0.0.1:\(port)"], [:], "--redis / LOCKD_REDIS_URL", "user name or password"),
            ([], ["LOCKD_REDIS_URL": "redis://127.0.0.1:\(port)"], "LOCKD_REDIS_URL", "requires a password"),
            (["--redis", "redis://:\(pw)@127.0.0.1:\(port)/99"], [:], "--redis / LOCKD_REDIS_URL", "no database 99"),
            (["--redis", "rediss://:\(pw)@127.0.0.1:\(port)", "--redis-tls-ca-file", certificates.caFile], [:],
             "--redis / LOCKD_REDIS_URL", "speaks plaintext"),
            (["--redis", "redis://:\(pw)@127.0.0.1:\(tlsPort)"], [:], "--redis / LOCKD_REDIS_URL", "speaks TLS"),
            (["--redis", "rediss://:\(pw)@127.0.0.1:\(tlsPort)", "--redis-tls-ca-file", certificates.otherCAFile], [:],
             "--redis-tls", "not trusted"),
        ]
        for (arguments, environment, setting, cause) in cases {
            let (termination, output) = try await LockdProcess.runToExit(arguments + ["--listen", "127.0.0.1:0"],
                                                                         environment: environment, timeout: .seconds(15))
            let shown = (arguments + environment.values).joined(separator: " ")
            #expect(termination == .exited(64), "\(shown): \(String(describing: termination)): \(output)")
            #expect(output.contains(setting) && output.contains(cause), "\(shown): \(output)")
            #expect(!output.contains(pw), "the output shows the password: \(output)")
            for kindName in ["authenticationFailed", "databaseRejected", "tlsMismatch", "tlsVerificationFailed"] {
                #expect(!output.contains(kindName), "the output shows an internal name: \(output)")
            }
            #expect(!output.contains("lockd listening"), "lockd served: \(output)")
        }
    }

    @Test func aRedisThatCannotBeResolvedYetIsRetriedWhileLockdServes() async throws {
        let lockd = try await LockdProcess.start(["--redis", "redis://no-such-host.invalid:6379"])
        #expect(try await lockd.request("GET", "/healthz").status == 200)
        let ready = try await lockd.request("GET", "/readyz")
        #expect(ready.status == 503)
        #expect(ready.json["store"] as? String == "redis")
        #expect(lockd.output.contains("cannot resolve the host name 'no-such-host.invalid'"), "\(lockd.output)")
        #expect(!lockd.output.contains("not a HOST:PORT address"))
        await lockd.stop()
    }

    @Test func aRefusalAfterStartIsLoggedAtErrorOncePer10SecondsAndShownInReadiness() async throws {
        let redis = try await offThePool { try RedisServerFixture.start(arguments: ["--requirepass", Self.password]) }
        defer { redis.stop() }
        let lockd = try await LockdProcess.start(["--log-format", "json"],
                                                 environment: ["LOCKD_REDIS_URL": "redis://:\(Self.password)@127.0.0.1:\(redis.port)"])
        let readyAtStart = try await eventually(within: .seconds(5)) { try await lockd.request("GET", "/readyz").status == 200 }
        #expect(readyAtStart)

        // The password changes under lockd, and its connections are dropped.
        try await offThePool { [port = redis.port] in
            let admin = try RedisAdmin(port: port)
            _ = try admin.call("AUTH", Self.password)
            _ = try admin.call("CONFIG", "SET", "requirepass", "another-\(Self.password)")
            _ = try admin.call("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
            _ = try admin.call("CLIENT", "KILL", "TYPE", "pubsub")
        }
        var detail = ""
        let explained = try await eventually(within: .seconds(10)) {
            let ready = try await lockd.request("GET", "/readyz")
            detail = ready.json["detail"] as? String ?? ""
            return ready.status == 503 && detail.contains("user name or password")
        }
        #expect(explained, "/readyz: \(detail)")
        #expect(!detail.contains(Self.password))
        // Reconnection attempts go on (backing off up to 1 s); the error line
        // does not repeat within 10 s.
        try await Task.sleep(for: .seconds(3))
        let errors = lockd.output.split(separator: "\n").filter { $0.contains(#""level":"error""#) }
        #expect(errors.count == 1, "\(errors)")
        #expect(errors.first?.contains("user name or password") == true, "\(errors)")
        #expect(errors.allSatisfy { !$0.contains(Self.password) })
        await lockd.stop()
    }

    /// Redis 7 gives a new ACL user no channels (`acl-pubsub-default
    /// resetchannels`): lockd would get no wake-ups, so it stops at start
    /// naming the ACL; with `&lockd:*` granted it serves.
    @Test func aRedisUserWithoutLockdsChannelsStopsLockdAtStart() async throws {
        let redis = try await offThePool { try RedisServerFixture.start() }
        defer { redis.stop() }
        let password = Self.password
        _ = try await offThePool { [port = redis.port] in
            try RedisAdmin(port: port).call("ACL", "SETUSER", "locker", "on", ">\(password)", "~*", "+@all", "resetchannels")
        }
        let url = "redis://locker:\(password)@127.0.0.1:\(redis.port)"
        let (termination, output) = try await LockdProcess.runToExit(["--redis", url, "--listen", "127.0.0.1:0"], timeout: .seconds(15))
        #expect(termination == .exited(64), "\(String(describing: termination)): \(output)")
        #expect(output.contains("ACL") && output.contains("SUBSCRIBE") && output.contains("lockd:waiting"), "\(output)")
        #expect(!output.contains(password) && !output.contains("permissionDenied"), "\(output)")
        #expect(!output.contains("lockd listening"), "lockd served: \(output)")

        _ = try await offThePool { [port = redis.port] in try RedisAdmin(port: port).call("ACL", "SETUSER", "locker", "&lockd:*") }
        let lockd = try await LockdProcess.start(["--redis", url])
        let ready = try await eventually(within: .seconds(5)) { try await lockd.request("GET", "/readyz").status == 200 }
        #expect(ready)
        await lockd.stop()
    }
}
