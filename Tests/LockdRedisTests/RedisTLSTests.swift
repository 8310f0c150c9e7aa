import LockdRedis
import LockdTestSupport
import LockdTransport
import Testing

/// `rediss://`: the client against a real redis-server listening for TLS
/// with certificates the tests make themselves.
@Suite struct RedisTLSTests {
    static func tls(requiringClientCertificates: Bool = false) throws -> RedisServerFixture.TLS {
        RedisServerFixture.TLS(certificates: try TestCertificates.shared(), requiresClientCertificates: requiringClientCertificates)
    }

    @Test func commandsPipelinesBigRepliesAndPubSubWorkOverVerifiedTLS() async throws {
        let certificates = try TestCertificates.shared()
        try await RedisTestHarness.with(tls: try Self.tls(), loops: 2, configure: { $0.tls?.caFile = certificates.caFile; $0.commandTimeout = .seconds(5) }) { redis in
            let key = redis.key("k")
            _ = try await redis.client.send(["SET", .string(key), "over tls"])
            #expect(try await redis.client.send(["GET", .string(key)]).string == "over tls")
            // Bigger than a TLS record (16 KiB) and than one socket read, both ways.
            let big = [UInt8]((0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 7) })
            _ = try await redis.client.send(["SET", .string(redis.key("big")), .bytes(big)])
            #expect(try await redis.client.send(["GET", .string(redis.key("big"))]).bytes == big)
            let replies = try await redis.client.pipeline((0..<1_000).map { ["INCR", .string(redis.key("n\($0 % 10)"))] })
            #expect(replies.map { try? $0.get().int } == (0..<1_000).map { $0 / 10 + 1 })
            let subscription = try await redis.client.subscribe(to: [redis.key("channel")])
            _ = try await redis.client.send(["PUBLISH", .string(redis.key("channel")), "hello"])
            for await event in subscription {
                guard case .message(let message) = event else { continue }
                #expect(message.payload == Array("hello".utf8))
                break
            }
            // Every connection (two loops and pub/sub) came in on the TLS port.
            let tlsPort = try #require(redis.server.tlsPort)
            let clients = (try await redis.client.send(["CLIENT", "LIST"]).string ?? "").split(separator: "\n")
            #expect(clients.filter { $0.contains("name=lockd") && $0.contains("laddr=127.0.0.1:\(tlsPort) ") }.count == 3, "\(clients)")
        }
    }

    @Test func aServerCertificateFromAnotherCAOrForAnotherNameIsRefusedClearly() async throws {
        let certificates = try TestCertificates.shared()
        let server = try await offThePool { try RedisServerFixture.start(tls: try Self.tls()) }
        let group = try EventLoopGroup(loopCount: 1)
        for (caFile, serverName, reason) in [
            (nil, nil, "certificate"),  // the system's CAs do not know the test CA
            (certificates.otherCAFile, nil, "certificate"),
            (certificates.caFile, "redis.example.com", "'redis.example.com': hostname mismatch"),
        ] {
            let client = try RedisTestHarness.makeClient(server: server, group: group) {
                $0.tls?.caFile = caFile
                $0.tls?.serverName = serverName
            }
            do throws(RedisError) {
                try await client.ping()
                Issue.record("an untrusted server must be refused (\(reason))")
            } catch {
                #expect(error.kind == .tlsVerificationFailed && error.needsSettingsFixed, "\(error)")
                #expect(error.message.contains("not trusted") && error.message.contains(reason), "\(error.message)")
            }
            await client.shutdown()
        }
        group.shutdown()
        await offThePool { server.stop() }
    }

    @Test func aClientCertificateIsPresentedWhenRedisRequiresOne() async throws {
        let certificates = try TestCertificates.shared()
        let server = try await offThePool { try RedisServerFixture.start(tls: try Self.tls(requiringClientCertificates: true)) }
        let group = try EventLoopGroup(loopCount: 1)
        let anonymous = try RedisTestHarness.makeClient(server: server, group: group) { $0.tls?.caFile = certificates.caFile }
        do throws(RedisError) {
            try await anonymous.ping()
            Issue.record("Redis must refuse a client without a certificate")
        } catch {
            // TLS 1.3 lets the client finish its handshake before Redis checks
            // the certificate: the refusal arrives as an alert, a reset or a close.
            #expect(error.isServerUnavailable, "\(error)")
        }
        await anonymous.shutdown()
        let identified = try RedisTestHarness.makeClient(server: server, group: group) {
            $0.tls = TLSClientConfiguration(caFile: certificates.caFile, certificateFile: certificates.clientCertificateFile,
                                            privateKeyFile: certificates.clientKeyFile)
        }
        let pong = try await retrying(within: .seconds(5)) { try await identified.send(["PING"]) }
        #expect(pong.string == "PONG")
        await identified.shutdown()
        group.shutdown()
        await offThePool { server.stop() }
    }

    @Test func aNameIsVerifiedAgainstTheCertificatesDNSNames() async throws {
        let certificates = try TestCertificates.shared()
        try await RedisTestHarness.with(tls: try Self.tls(), configure: {
            $0.tls = TLSClientConfiguration(caFile: certificates.caFile, serverName: "localhost")
        }) { redis in
            let pong = try await redis.client.send(["PING"])
            #expect(pong.string == "PONG")
        }
    }

    @Test func unusableTLSFilesAreReportedByName() async throws {
        let certificates = try TestCertificates.shared()
        #expect(throws: TLSError.self) { try TLSClientContext(configuration: TLSClientConfiguration(caFile: "/nonexistent/ca.pem")) }
        do throws(TLSError) {
            _ = try TLSClientContext(configuration: TLSClientConfiguration(
                caFile: certificates.caFile, certificateFile: certificates.clientCertificateFile, privateKeyFile: certificates.serverKeyFile))
            Issue.record("a key that does not match its certificate must be refused")
        } catch {
            #expect(error.message.contains("server.key") && error.message.contains("mismatch"), "\(error.message)")
        }
        do throws(TLSError) {
            _ = try TLSClientContext(configuration: TLSClientConfiguration(certificateFile: certificates.clientCertificateFile))
            Issue.record("a certificate without its key must be refused")
        } catch {
            #expect(error.message.contains("both"))
        }
        // Through the client, every call learns the reason.
        let group = try EventLoopGroup(loopCount: 1)
        var configuration = try RedisConfiguration(url: "rediss://127.0.0.1:1")
        configuration.tls?.caFile = "/nonexistent/ca.pem"
        let client = RedisClient(configuration: configuration, eventLoopGroup: group, logger: RedisTestHarness.quietLogger)
        for _ in 0..<2 {
            do throws(RedisError) {
                try await client.ping()
                Issue.record("a client with unusable TLS files cannot connect")
            } catch {
                #expect(error.kind == .invalidConfiguration && error.message.contains("/nonexistent/ca.pem"), "\(error)")
            }
        }
        await client.shutdown()
        group.shutdown()
    }

    @Test func tlsSpokenToAPlainPortFailsClearlyAndQuickly() async throws {
        try await RedisTestHarness.with { redis in
            let client = try RedisTestHarness.makeClient(server: redis.server, group: redis.group) { $0.tls = TLSClientConfiguration() }
            let started = MonotonicClock.now()
            do throws(RedisError) {
                try await client.ping()
                Issue.record("a plain port cannot answer TLS")
            } catch {
                #expect(error.isServerUnavailable)
            }
            #expect(MonotonicClock.now() - started < 3_000_000_000)
            await client.shutdown()
        }
    }
}
