import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `openssl s_client`, an independent TLS client, for what a test must not
/// check with lockd's own TLS code: offered versions and ALPN names.
///
/// ```swift
/// let probe = try await OpenSSLClient.connect(port: port, ["-tls1_1"])
/// #expect(probe.output.contains("alert protocol version"))
/// ```
public enum OpenSSLClient {
    /// How a probe ended and what `s_client` printed.
    public struct Probe: Sendable {
        /// The exit status (0: the handshake succeeded).
        public let status: Int32?
        /// Standard output and error together.
        public let output: String
    }

    /// Connects to `127.0.0.1:port` with `arguments` added, completes (or
    /// fails) the handshake, and disconnects (standard input is empty).
    /// - Throws: ``ChildProcessError`` when `openssl` cannot be started or hangs.
    public static func connect(port: UInt16, _ arguments: [String]) async throws -> Probe {
        let outputPath = FileManager.default.temporaryDirectory.appendingPathComponent("s_client-\(UUID().uuidString).txt").path
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        let process = try ChildProcess(
            executable: "/usr/bin/openssl", arguments: ["s_client", "-connect", "127.0.0.1:\(port)"] + arguments,
            outputPath: outputPath)
        let termination = await offThePool { process.waitForExit(timeout: .seconds(20)) }
        guard let termination else {
            process.terminate(with: SIGKILL)
            throw ChildProcessError(description: "openssl s_client did not finish")
        }
        let status: Int32? = if case .exited(let code) = termination { code } else { nil }
        return Probe(status: status, output: (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "")
    }
}
