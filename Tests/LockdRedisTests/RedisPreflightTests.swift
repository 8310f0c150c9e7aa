import LockdRedis
import LockdTestSupport
import Testing

/// One attempt before start tells a setting Redis refuses (credentials, the
/// database, a certificate, TLS against plaintext) from a Redis that is only
/// unreachable — against real redis-servers, one with a password and a TLS port.
@Suite struct RedisPreflightTests {
    @Test func whatRedisRefusesIsASettingAndWhatIsDownIsAnOutage() async throws {
        let certificates = try TestCertificates.shared()
        let server = try await offThePool {
            try RedisServerFixture.start(arguments: ["--requirepass", "s3cret"], tls: .init(certificates: certificates))
        }
        defer { server.stop() }
        let tlsPort = try #require(server.tlsPort)
        // A port that refuses connections: a server's, once it has stopped.
        let closed = try await offThePool { try RedisServerFixture.start() }
        let closedPort = closed.port
        await offThePool { closed.stop() }
        func configuration(_ url: String, ca: String? = certificates.caFile) throws -> RedisConfiguration {
            var configuration = try RedisConfiguration(url: url)
            if configuration.tls != nil { configuration.tls?.caFile = ca }
            return configuration
        }

        #expect(Self.isReady(await RedisPreflight.check(try configuration("redis://:s3cret@127.0.0.1:\(server.port)"))))
        #expect(Self.isReady(await RedisPreflight.check(try configuration("rediss://:s3cret@127.0.0.1:\(tlsPort)"))))
        for (url, ca, kind, words) in [
            ("redis://:wrong@127.0.0.1:\(server.port)", certificates.caFile, RedisError.Kind.authenticationFailed, "user name or password"),
            ("redis://127.0.0.1:\(server.port)", certificates.caFile, .authenticationFailed, "requires a password"),
            ("redis://:s3cret@127.0.0.1:\(server.port)/99", certificates.caFile, .databaseRejected, "no database 99"),
            ("rediss://:s3cret@127.0.0.1:\(server.port)", certificates.caFile, .tlsMismatch, "speaks plaintext"),
            ("redis://:s3cret@127.0.0.1:\(tlsPort)", certificates.caFile, .tlsMismatch, "speaks TLS"),
            ("rediss://:s3cret@127.0.0.1:\(tlsPort)", certificates.otherCAFile, .tlsVerificationFailed, "not trusted"),
        ] as [(String, String, RedisError.Kind?, String)] {
            guard case .refused(let error) = await RedisPreflight.check(try configuration(url, ca: ca)) else {
                Issue.record("\(url) was not refused")
                continue
            }
            if let kind { #expect(error.kind == kind, "\(url): \(error)") }
            #expect(error.needsSettingsFixed)
            #expect("\(error)".contains(words), "\(url): \(error)")
            #expect(!"\(error)".contains("s3cret") && !"\(error)".contains(":wrong"), "\(error)")
        }

        // Not there (yet): lockd starts and retries.
        let unreachable = [
            "redis://127.0.0.1:\(closedPort)",
            "redis://no-such-host.invalid:6379",
            "rediss://127.0.0.1:\(closedPort)",
        ]
        for url in unreachable {
            guard case .unreachable(let error) = await RedisPreflight.check(try configuration(url)) else {
                Issue.record("\(url) was not found unreachable")
                continue
            }
            #expect(!error.needsSettingsFixed)
            if url.contains("invalid") { #expect(error.message.contains("cannot resolve the host name 'no-such-host.invalid'"), "\(error)") }
        }
    }

    static func isReady(_ verdict: RedisPreflight.Verdict) -> Bool {
        if case .ready = verdict { return true }
        Issue.record("not ready: \(verdict)")
        return false
    }
}
