import Foundation
import LockdTLS
import LockdTestSupport
import Testing

@testable import LockdHTTP

/// HTTPS: the server behind a TLS StreamSocket, against lockd's own test
/// client and against `openssl s_client`, with certificates the tests make.
@Suite struct HTTPServerTLSTests {
    static func configuration(
        certificate: (String, String)? = nil, requireClientCertificates: Bool = false, handshakeTimeout: Duration = .seconds(10)
    ) throws -> HTTPServerConfiguration {
        let certificates = try TestCertificates.shared()
        var configuration = HTTPServerConfiguration(listenAddress: "127.0.0.1:0")
        let (certificateFile, keyFile) = certificate ?? (certificates.serverCertificateFile, certificates.serverKeyFile)
        configuration.tls = TLSServerConfiguration(
            certificateFile: certificateFile, privateKeyFile: keyFile,
            clientCAFile: requireClientCertificates ? certificates.caFile : nil)
        configuration.tlsHandshakeTimeout = handshakeTimeout
        return configuration
    }

    /// A TLS client of `server` trusting the test CA (or `caFile`).
    static func client(_ server: TestServer, caFile: String? = nil, withCertificate: Bool = false, protocols: [String] = []) throws -> RawHTTPClient {
        let certificates = try TestCertificates.shared()
        var tls = TLSClientConfiguration(caFile: caFile ?? certificates.caFile, applicationProtocols: protocols)
        if withCertificate {
            tls.certificateFile = certificates.clientCertificateFile
            tls.privateKeyFile = certificates.clientKeyFile
        }
        return try RawHTTPClient(port: server.port, tls: tls)
    }

    /// ``client(_:caFile:withCertificate:protocols:)`` off the pool: the
    /// handshake blocks until the server answers it, and a test that blocks
    /// one of the pool's two threads stalls every other test in the process.
    static func connected(_ server: TestServer, caFile: String? = nil, withCertificate: Bool = false, protocols: [String] = []) async throws -> RawHTTPClient {
        try await offThePool { try client(server, caFile: caFile, withCertificate: withCertificate, protocols: protocols) }
    }

    static let healthz = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"

    @Test func keepAliveAndPipelinedRequestsOverTLS13WithALPN() async throws {
        try await TestServer.with(try Self.configuration()) { server in
            let client = try await Self.connected(server, protocols: ["h2", "http/1.1"])
            #expect(client.tls?.negotiatedProtocol == "http/1.1")
            #expect(client.tls?.protocolVersion == "TLSv1.3")
            try client.send(Self.healthz + "GET /items/b HTTP/1.1\r\nHost: x\r\n\r\n" + "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
            #expect(try await client.readResponse().text == "ok")
            #expect(try await client.readResponse().text == "b")
            #expect(try await client.readResponse().text == "hello")
            // The same connection, later.
            try client.send(Self.healthz)
            let again = try await client.readResponse()
            #expect(again.status == 200)
            #expect(again.header("Connection") == nil)
        }
    }

    @Test func largeBodiesCrossTLSIntactBothWays() async throws {
        try await TestServer.with(try Self.configuration()) { server in
            let client = try await Self.connected(server)
            try client.send("GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
            let big = try await client.readResponse(timeout: .seconds(30))
            #expect(big.body.count == 16 << 20)
            #expect(big.body.allSatisfy { $0 == 0x61 })
            let body = (0..<60_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            try client.send(Array("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.count)\r\n\r\n".utf8) + body)
            #expect(try await client.readResponse().body == body)
        }
    }

    @Test func aHelloSplitBeforeACapitalLetterIsStillTLS() async throws {
        try await TestServer.with(try Self.configuration()) { server in
            let certificates = try TestCertificates.shared()
            let port = server.port
            let client = try await offThePool {
                try RawHTTPClient(port: port, tls: TLSClientConfiguration(caFile: certificates.caFile), splitHello: true)
            }
            try client.send(Self.healthz)
            #expect(try await client.readResponse().status == 200)
        }
    }

    @Test func plaintextToTheTLSPortIsAnswered400AndClosed() async throws {
        try await TestServer.with(try Self.configuration()) { server in
            let client = try server.client()
            try client.send(Self.healthz)
            let response = try await client.readResponse()
            #expect(response.status == 400)
            #expect(response.text.contains("https://"))
            #expect(response.header("Connection") == "close")
            #expect(response.header("X-Request-Id") != nil)
            #expect(await client.closedByServer())
            // The server lingers until the client goes.
            client.close()
            let closed = await eventually { server.server.openConnectionCount == 0 }
            #expect(closed)
        }
    }

    /// "Held up no one" is an order, not a time: the third client is served
    /// while both stalled handshakes are still open, before their timeout
    /// drops them. (Timed against a 500 ms timeout, a busy machine's slow
    /// handshake on the test's side failed it.)
    @Test func aStalledHandshakeHoldsUpNoOneAndIsDroppedAfterItsTimeout() async throws {
        try await TestServer.with(try Self.configuration(handshakeTimeout: .seconds(3))) { server in
            let silent = try server.client()
            let halfHello = try server.client()
            try halfHello.send([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xFC, 0x03, 0x03])
            let bothOpen = await eventually { server.server.openConnectionCount == 2 }
            #expect(bothOpen)
            let client = try await Self.connected(server)
            try client.send(Self.healthz)
            #expect(try await client.readResponse().status == 200)
            #expect(server.server.openConnectionCount == 3, "a stalled handshake held up another client until it was dropped")
            #expect(await silent.closedByServer(within: .seconds(10)))
            #expect(await halfHello.closedByServer(within: .seconds(10)))
            // The served client is still open; the stalled two are gone.
            let connected = await eventually { server.server.openConnectionCount == 1 }
            #expect(connected)
        }
    }

    @Test func clientCertificatesAreRequiredWhenAClientCAIsSet() async throws {
        try await TestServer.with(try Self.configuration(requireClientCertificates: true)) { server in
            let identified = try await Self.connected(server, withCertificate: true)
            try identified.send(Self.healthz)
            #expect(try await identified.readResponse().status == 200)
            // TLS 1.3 lets the client finish before the server checks: the
            // refusal arrives as an alert where the response would be.
            var refused = false
            do {
                let anonymous = try await Self.connected(server)
                try anonymous.send(Self.healthz)
                _ = try await anonymous.readResponse()
            } catch {
                refused = true
            }
            #expect(refused, "a client without a certificate was served")
            let connected = await eventually { server.server.openConnectionCount == 1 }
            #expect(connected)
        }
    }

    @Test func aReloadedCertificateReachesNewConnectionsWhileOpenOnesKeepWorking() async throws {
        let certificates = try TestCertificates.shared()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lockd-reload-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let certificateFile = directory + "/tls.crt"
        let keyFile = directory + "/tls.key"
        try FileManager.default.copyItem(atPath: certificates.serverCertificateFile, toPath: certificateFile)
        try FileManager.default.copyItem(atPath: certificates.serverKeyFile, toPath: keyFile)
        try await TestServer.with(try Self.configuration(certificate: (certificateFile, keyFile))) { server in
            let open = try await Self.connected(server)
            try open.send(Self.healthz)
            #expect(try await open.readResponse().status == 200)

            let rotated = try certificates.issueServerCertificateFromOtherCA()
            try Data(contentsOf: URL(fileURLWithPath: rotated.certificateFile)).write(to: URL(fileURLWithPath: certificateFile))
            try Data(contentsOf: URL(fileURLWithPath: rotated.keyFile)).write(to: URL(fileURLWithPath: keyFile))
            try server.server.reloadTLS()

            try open.send(Self.healthz)
            #expect(try await open.readResponse().status == 200, "an open connection broke at the reload")
            await #expect(throws: RawHTTPClientError.self) { _ = try await Self.connected(server) }
            let fresh = try await Self.connected(server, caFile: certificates.otherCAFile)
            try fresh.send(Self.healthz)
            #expect(try await fresh.readResponse().status == 200)

            // A bad file at the next reload is refused, and the server keeps what it had.
            try "not a key".write(toFile: keyFile, atomically: true, encoding: .utf8)
            #expect(throws: TLSError.self) { try server.server.reloadTLS() }
            let afterBadReload = try await Self.connected(server, caFile: certificates.otherCAFile)
            try afterBadReload.send(Self.healthz)
            #expect(try await afterBadReload.readResponse().status == 200)
        }
    }

    @Test func tls11AndClientsWithoutHTTP11InALPNAreRefused() async throws {
        let certificates = try TestCertificates.shared()
        try await TestServer.with(try Self.configuration()) { server in
            let verified = ["-CAfile", certificates.caFile, "-verify_return_error"]
            let tls12 = try await OpenSSLClient.connect(port: server.port, verified + ["-tls1_2", "-alpn", "http/1.1"])
            #expect(tls12.status == 0, "\(tls12.output)")
            #expect(tls12.output.contains("Protocol  : TLSv1.2") || tls12.output.contains("TLSv1.2"), "\(tls12.output)")
            #expect(tls12.output.contains("ALPN protocol: http/1.1"), "\(tls12.output)")
            // The client offers 1.1 only (its own security level allowing it): the server says no.
            let tls11 = try await OpenSSLClient.connect(port: server.port, verified + ["-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"])
            #expect(tls11.status != 0)
            #expect(tls11.output.contains("alert protocol version"), "\(tls11.output)")
            let h2Only = try await OpenSSLClient.connect(port: server.port, verified + ["-alpn", "h2"])
            #expect(h2Only.status != 0)
            #expect(h2Only.output.contains("no application protocol"), "\(h2Only.output)")
        }
    }
}
