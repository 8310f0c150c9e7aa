import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Certificates for TLS tests, made once per test process with the
/// `openssl` command in a temporary directory: a test CA, a server
/// certificate it signed for `127.0.0.1` and `localhost`, a client
/// certificate it signed, and a second CA that signed nothing here.
public struct TestCertificates: Sendable {
    /// The test CA's certificate (PEM).
    public let caFile: String
    /// The server's certificate and key, for `redis-server --tls-cert-file/--tls-key-file`.
    public let serverCertificateFile: String
    public let serverKeyFile: String
    /// A client certificate and key signed by the test CA.
    public let clientCertificateFile: String
    public let clientKeyFile: String
    /// A CA that signed none of these (to show that trust is checked).
    public let otherCAFile: String
    private let directory: String

    /// The process's certificates, made at first use.
    /// - Throws: ``ChildProcessError`` when `openssl` is missing or fails.
    public static func shared() throws -> TestCertificates {
        try made.get()
    }

    private static let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("lockd-tls-\(getpid())-\(UUID().uuidString)").path

    private static let made = Result {
        // Gone when the test process ends.
        atexit { try? FileManager.default.removeItem(atPath: TestCertificates.directory) }
        return try TestCertificates(directory: directory)
    }

    private init(directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        func path(_ name: String) -> String { "\(directory)/\(name)" }
        self.directory = directory
        caFile = path("ca.pem")
        serverCertificateFile = path("server.pem")
        serverKeyFile = path("server.key")
        clientCertificateFile = path("client.pem")
        clientKeyFile = path("client.key")
        otherCAFile = path("other-ca.pem")
        let key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try Self.openssl(["req", "-x509"] + key + ["-keyout", path("ca.key"), "-out", caFile, "-days", "2", "-subj", "/CN=lockd test CA"])
        try Self.openssl(["req", "-x509"] + key + ["-keyout", path("other-ca.key"), "-out", otherCAFile, "-days", "2", "-subj", "/CN=another CA"])
        for (name, subject, extensions) in [
            ("server", "/CN=localhost", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"),
            ("client", "/CN=lockd", "extendedKeyUsage=clientAuth\n"),
        ] {
            try extensions.write(toFile: path("\(name).ext"), atomically: true, encoding: .utf8)
            try Self.openssl(["req"] + key + ["-keyout", path("\(name).key"), "-out", path("\(name).csr"), "-subj", subject])
            try Self.openssl([
                "x509", "-req", "-in", path("\(name).csr"), "-CA", caFile, "-CAkey", path("ca.key"), "-CAcreateserial",
                "-out", path("\(name).pem"), "-days", "2", "-extfile", path("\(name).ext"),
            ])
        }
    }

    /// A new server certificate for `127.0.0.1` and `localhost`, with a key
    /// of its own, signed by the other CA (``otherCAFile``): what a rotated
    /// certificate looks like to a client — only clients trusting that CA accept it.
    /// - Returns: the certificate and key files (fresh names on every call).
    public func issueServerCertificateFromOtherCA() throws -> (certificateFile: String, keyFile: String) {
        let name = "rotated-\(UUID().uuidString)"
        func path(_ file: String) -> String { "\(directory)/\(file)" }
        let key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try Self.openssl(["req"] + key + ["-keyout", path("\(name).key"), "-out", path("\(name).csr"), "-subj", "/CN=localhost"])
        try Self.openssl([
            "x509", "-req", "-in", path("\(name).csr"), "-CA", otherCAFile, "-CAkey", path("other-ca.key"), "-CAcreateserial",
            "-out", path("\(name).pem"), "-days", "2", "-extfile", path("server.ext"),
        ])
        return (path("\(name).pem"), path("\(name).key"))
    }

    private static func openssl(_ arguments: [String]) throws {
        let process = try ChildProcess(executable: "/usr/bin/openssl", arguments: arguments)
        guard process.waitForExit(timeout: .seconds(30)) == .exited(0) else {
            process.terminate(with: SIGKILL)
            throw ChildProcessError(description: "openssl \(arguments.prefix(2).joined(separator: " ")) failed")
        }
    }
}
