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
            // Every connection (two loops and pub/sub) is the TLS one: the plain port has none of ours.
            let plain = try RedisTestHarness.makeClient(server: redis.server, group: redis.group) {
                $0.tls = nil
                $0.port = redis.server.port
                $0.clientName = "observer"
            }
            let clients = try await plain.send(["CLIENT", "LIST"]).string ?? ""
            #expect(clients.split(separator: "\n").filter { $0.contains("name=lockd") }.count == 3)
            await plain.shutdown()
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
                #expect(error.kind == .authenticationFailed, "\(error)")
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
            // the certificate: the refusal arrives as an alert or as a reset.
            #expect(error.isServerUnavailable)
            #expect(error.message.contains("certificate required") || error.message.contains("reset"), "\(error.message)")
        }
        await anonymous.shutdown()
        let identified = try RedisTestHarness.makeClient(server: server, group: group) {
            $0.tls = TLSClientConfiguration(caFile: certificates.caFile, certificateFile: certificates.clientCertificateFile,
                                            privateKeyFile: certificates.clientKeyFile)
        }
        let pong = try await RedisTestHarness.eventually(within: 5) { try await identified.send(["PING"]) }
        #expect(pong.string == "PONG")
        await identified.shutdown()
        group.shutdown()
        await offThePool { server.stop() }
    }

    @Test func unusableTLSFilesAreReportedByName() {
        let certificates = try? TestCertificates.shared()
        #expect(throws: TLSError.self) { try TLSClientContext(configuration: TLSClientConfiguration(caFile: "/nonexistent/ca.pem")) }
        do throws(TLSError) {
            _ = try TLSClientContext(configuration: TLSClientConfiguration(
                caFile: certificates?.caFile, certificateFile: certificates?.clientCertificateFile, privateKeyFile: certificates?.serverKeyFile))
            Issue.record("a key that does not match its certificate must be refused")
        } catch {
            #expect(error.message.contains("server.key") && error.message.contains("mismatch"), "\(error.message)")
        }
        do throws(TLSError) {
            _ = try TLSClientContext(configuration: TLSClientConfiguration(certificateFile: certificates?.clientCertificateFile))
            Issue.record("a certificate without its key must be refused")
        } catch {
            #expect(error.message.contains("both"))
        }
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
