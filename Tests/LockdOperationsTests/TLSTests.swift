import Foundation
import LockdTLS
import LockdTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// PRODUCT.md's "TLS for clients of lockd", against the real binary: the
/// flags, their environment variables and config-file keys, SIGHUP rotation,
/// client certificates, and what a bad file does at start and at reload.
@Suite struct TLSTests {
    /// Copies of the test server certificate and key in a directory of their
    /// own, so a test can rotate them on disk.
    final class CertificateFiles: Sendable {
        let directory: String
        var certificateFile: String { directory + "/tls.crt" }
        var keyFile: String { directory + "/tls.key" }

        init() throws {
            let certificates = try TestCertificates.shared()
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("lockd-tls-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: certificates.serverCertificateFile, toPath: directory + "/tls.crt")
            try FileManager.default.copyItem(atPath: certificates.serverKeyFile, toPath: directory + "/tls.key")
        }

        /// Replaces the files with a certificate the other test CA signed.
        func rotate() throws {
            let rotated = try TestCertificates.shared().issueServerCertificateFromOtherCA()
            try Data(contentsOf: URL(fileURLWithPath: rotated.certificateFile)).write(to: URL(fileURLWithPath: certificateFile))
            try Data(contentsOf: URL(fileURLWithPath: rotated.keyFile)).write(to: URL(fileURLWithPath: keyFile))
        }

        deinit { try? FileManager.default.removeItem(atPath: directory) }
    }

    static func trusting(_ caFile: String, certificate: Bool = false) throws -> TLSClientConfiguration {
        let certificates = try TestCertificates.shared()
        return TLSClientConfiguration(
            caFile: caFile, certificateFile: certificate ? certificates.clientCertificateFile : nil,
            privateKeyFile: certificate ? certificates.clientKeyFile : nil)
    }

    @Test(arguments: StoreKind.allCases)
    func locksAreTakenKeptAndGivenBackOverHTTPS(store: StoreKind) async throws {
        let files = try CertificateFiles()
        let tls = try Self.trusting(TestCertificates.shared().caFile)
        // The certificate from a flag, the key from the config file.
        let config = try ConfigFile("LOCKD_TLS_KEY_FILE=\(files.keyFile)")
        try await store.withLockdProcess(arguments: ["--tls-cert-file", files.certificateFile, "--config", config.path]) { lockd, _ in
            let name = uniqueLockName()
            let lease = try await lockd.request("POST", "/locks/\(name)", body: #"{"ttl_ms":30000}"#, tls: tls)
            #expect(lease.status == 201, "\(lease.text)")
            let token = try #require(lease.json["token"] as? String)
            let renewed = try await lockd.request("POST", "/locks/\(name)/renew", headers: ["Lock-Token": token], tls: tls)
            #expect(renewed.status == 200)
            #expect(try await lockd.request("DELETE", "/locks/\(name)", headers: ["Lock-Token": token], tls: tls).status == 204)
            // Plaintext gets a clear answer, not a hang.
            let plain = try await lockd.request("GET", "/healthz")
            #expect(plain.status == 400)
            #expect(plain.text.contains("https://"))
        }
    }

    @Test func sighupRotatesTheCertificateForNewConnectionsAndKeepsOpenOnes() async throws {
        let certificates = try TestCertificates.shared()
        let files = try CertificateFiles()
        let lockd = try await LockdProcess.start([], environment: [
            "LOCKD_TLS_CERT_FILE": files.certificateFile, "LOCKD_TLS_KEY_FILE": files.keyFile,
        ])
        let (host, port) = (lockd.host, lockd.port)
        let trustingTestCA = try Self.trusting(certificates.caFile)
        let open = try await offThePool { try RawHTTPClient(host: host, port: port, tls: trustingTestCA) }
        try open.send("GET /healthz HTTP/1.1\r\nHost: lockd\r\n\r\n")
        #expect(try await open.readResponse().status == 200)

        try files.rotate()
        lockd.process.send(signal: SIGHUP)
        let trustingOtherCA = try Self.trusting(certificates.otherCAFile)
        let rotated = await eventually(within: .seconds(5)) {
            (try? await lockd.request("GET", "/healthz", tls: trustingOtherCA).status) == 200
        }
        #expect(rotated, "new connections never got the new certificate: \(lockd.output.suffix(1_000))")
        await #expect(throws: RawHTTPClientError.self) { _ = try await lockd.request("GET", "/healthz", tls: trustingTestCA) }
        try open.send("GET /healthz HTTP/1.1\r\nHost: lockd\r\n\r\n")
        #expect(try await open.readResponse().status == 200, "the open connection broke at the reload")

        // A bad key at the next SIGHUP: logged, and the certificate in use stays.
        try "not a key".write(toFile: files.keyFile, atomically: true, encoding: .utf8)
        lockd.process.send(signal: SIGHUP)
        let reloadRefused = await eventually(within: .seconds(5)) { lockd.output.contains("cannot reload") }
        #expect(reloadRefused, "\(lockd.output.suffix(1_000))")
        #expect(lockd.output.contains(files.keyFile))
        #expect(try await lockd.request("GET", "/healthz", tls: trustingOtherCA).status == 200)
        #expect(lockd.process.isRunning)

        // SIGTERM over TLS still ends in a graceful exit 0.
        lockd.process.send(signal: SIGTERM)
        let termination = try await offThePool { lockd.process.waitForExit(timeout: .seconds(10)) }
        #expect(termination == .exited(0), "\(lockd.output.suffix(1_000))")
    }

    @Test func aClientCAFileRequiresClientCertificates() async throws {
        let certificates = try TestCertificates.shared()
        let files = try CertificateFiles()
        let lockd = try await LockdProcess.start(
            ["--tls-cert-file", files.certificateFile, "--tls-key-file", files.keyFile],
            environment: ["LOCKD_TLS_CLIENT_CA_FILE": certificates.caFile])
        #expect(try await lockd.request("GET", "/healthz", tls: try Self.trusting(certificates.caFile, certificate: true)).status == 200)
        await #expect(throws: (any Error).self) { _ = try await lockd.request("GET", "/healthz", tls: try Self.trusting(certificates.caFile)) }
        await lockd.stop()
    }

    @Test(arguments: [
        BadSetting(["--tls-cert-file", "/nonexistent/tls.crt", "--tls-key-file", "/nonexistent/tls.key"], names: "--tls-cert-file"),
        BadSetting(["--tls-key-file", "/nonexistent/tls.key"], names: "--tls-cert-file"),
        BadSetting([], environment: ["LOCKD_TLS_CERT_FILE": "/etc/hostname"], names: "--tls-key-file"),
        BadSetting(["--tls-client-ca-file", "/etc/hostname"], names: "--tls-client-ca-file"),
        BadSetting([], configFile: "LOCKD_TLS_CERT_FILE=/etc/hostname\nLOCKD_TLS_KEY_FILE=/etc/hostname", names: "LOCKD_TLS_CERT_FILE"),
    ])
    func aBadTLSSettingStopsLockdWithExit64NamingIt(setting: BadSetting) async throws {
        let file = try setting.configFile.map(ConfigFile.init)
        let arguments = setting.arguments + (file.map { ["--config", $0.path] } ?? []) + ["--listen", "127.0.0.1:0"]
        let (termination, output) = try await LockdProcess.runToExit(arguments, environment: setting.environment, timeout: .seconds(5))
        #expect(termination == .exited(64), "\(String(describing: termination)): \(output)")
        #expect(output.contains(setting.names), "the message does not name \(setting.names): \(output)")
    }

    @Test func aKeyThatIsNotTheCertificatesIsNamedAtStart() async throws {
        let certificates = try TestCertificates.shared()
        let (termination, output) = try await LockdProcess.runToExit([
            "--listen", "127.0.0.1:0", "--tls-cert-file", certificates.serverCertificateFile, "--tls-key-file", certificates.clientKeyFile,
        ], timeout: .seconds(5))
        #expect(termination == .exited(64))
        #expect(output.contains("--tls-key-file") && output.contains(certificates.clientKeyFile), "\(output)")
    }
}

/// lockbench speaks TLS through the same StreamSocket lockd serves with.
@Suite struct LockbenchOverTLSTests {
    @Test func lockbenchCyclesLocksAgainstAnHTTPSLockd() async throws {
        let certificates = try TestCertificates.shared()
        let lockd = try await LockdProcess.start(["--tls-cert-file", certificates.serverCertificateFile, "--tls-key-file", certificates.serverKeyFile])
        let outputPath = FileManager.default.temporaryDirectory.appendingPathComponent("lockbench-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        let bench = try ChildProcess(
            executable: try LockdProcess.builtExecutable("lockbench"),
            arguments: ["--url", "https://127.0.0.1:\(lockd.port)", "--tls-ca-file", certificates.caFile,
                        "--clients", "4", "--duration", "1s", "--json"],
            outputPath: outputPath, diesWithTestProcess: true)
        let termination = try await offThePool { bench.waitForExit(timeout: .seconds(30)) }
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        #expect(termination == .exited(0), "\(output)")
        let json = lockbenchSummary(in: output)
        #expect((json["cycles"] as? Int ?? 0) > 0, "\(output)")
        await lockd.stop()
    }
}
