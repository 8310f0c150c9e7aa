import Foundation
import LockdTransport
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A throwaway `redis-server` for integration tests: its own free loopback
/// port, its own temporary directory, no persistence (`--save ''
/// --appendonly no`), started and stopped by the test itself.
///
/// ```swift
/// let redis = try RedisServerFixture.start()
/// defer { redis.stop() }
/// let configuration = try RedisConfiguration(url: redis.url)
/// ```
///
/// `kill()` and `restart()` let fault tests take the server away and bring
/// it back on the same port. Stopping is by PID, never by name.
public final class RedisServerFixture: Sendable {
    /// The loopback port the server listens on.
    public let port: UInt16
    /// Extra `redis-server` arguments, such as `["--requirepass", "secret"]`.
    public let arguments: [String]
    /// The loopback port that speaks TLS, when started with `tls`; plain
    /// `port` keeps working beside it.
    public let tlsPort: UInt16?
    private let directory: URL
    private let process = Mutex<ChildProcess?>(nil)

    /// `redis://127.0.0.1:PORT`.
    public var url: String { "redis://127.0.0.1:\(port)" }

    /// `rediss://127.0.0.1:TLSPORT`, when started with `tls`.
    public var tlsURL: String? { tlsPort.map { "rediss://127.0.0.1:\($0)" } }

    /// How the server speaks TLS.
    public struct TLS: Sendable {
        /// The server's certificate and the CA its clients' certificates must come from.
        public var certificates: TestCertificates
        /// Whether clients must present a certificate (`--tls-auth-clients yes`).
        public var requiresClientCertificates: Bool

        public init(certificates: TestCertificates, requiresClientCertificates: Bool = false) {
            self.certificates = certificates
            self.requiresClientCertificates = requiresClientCertificates
        }
    }

    /// Starts a server and waits until it answers `PING`.
    /// - Parameters:
    ///   - arguments: extra `redis-server` arguments.
    ///   - tls: also listen for TLS on ``tlsPort``.
    /// - Throws: ``RedisServerFixtureError`` when `redis-server` is missing or never answers.
    public static func start(arguments: [String] = [], tls: TLS? = nil) throws -> RedisServerFixture {
        var lastError: (any Error)?
        for _ in 0..<3 {
            let tlsArguments = try tls.map { tls in
                [
                    "--tls-port", "\(try freePort())",
                    "--tls-cert-file", tls.certificates.serverCertificateFile, "--tls-key-file", tls.certificates.serverKeyFile,
                    "--tls-ca-cert-file", tls.certificates.caFile, "--tls-auth-clients", tls.requiresClientCertificates ? "yes" : "no",
                ]
            } ?? []
            let fixture = try RedisServerFixture(port: freePort(), arguments: arguments + tlsArguments)
            do {
                try fixture.restart()
                return fixture
            } catch {
                // Another process may have taken the port between probe and start.
                fixture.stop()
                lastError = error
            }
        }
        throw lastError ?? RedisServerFixtureError("redis-server did not start")
    }

    private init(port: UInt16, arguments: [String]) throws {
        self.port = port
        self.arguments = arguments
        self.tlsPort = arguments.firstIndex(of: "--tls-port").flatMap { arguments.indices.contains($0 + 1) ? UInt16(arguments[$0 + 1]) : nil }
        directory = try ScratchDirectory.make("lockd-redis-\(port)")
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }

    /// Arguments for servers that replicate: a replica's first sync starts at
    /// once rather than after the default 5 s wait for more replicas.
    static let replicationArguments = ["--repl-diskless-sync-delay", "0"]

    /// Starts the server again on the same port (after ``stop()`` or ``kill()``)
    /// and waits until it answers. Does nothing while it runs.
    /// - Throws: ``RedisServerFixtureError`` when it does not answer within 10 s.
    public func restart() throws {
        if process.withLock({ $0?.isRunning == true }) { return }
        let server = try ChildProcess(executable: Self.executable().path, arguments: [
            "--port", "\(port)", "--bind", "127.0.0.1", "--dir", directory.path,
            "--save", "", "--appendonly", "no", "--daemonize", "no",
            "--logfile", directory.appendingPathComponent("redis.log").path,
        ] + arguments, diesWithTestProcess: true)
        process.withLock { $0 = server }
        try waitUntilAnswering(server)
    }

    /// The running server's process id; nil after ``stop()`` or ``kill()``.
    public var pid: pid_t? {
        process.withLock { $0?.pid }
    }

    /// Stops the server with SIGTERM and waits for it to exit.
    public func stop() {
        signal(SIGTERM)
    }

    /// Stops the server and removes its directory, for a fixture kept until
    /// the process exits (whose `deinit` never runs).
    public func discard() {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }

    /// Kills the server with SIGKILL (no clean shutdown) and waits for it to exit.
    public func kill() {
        signal(SIGKILL)
    }

    /// Freezes the server (SIGSTOP): connections stay open but nothing is
    /// answered, as with a hung Redis or a network that drops packets.
    public func pause() {
        if let server = process.withLock({ $0 }) { _ = Glibc.kill(server.pid, SIGSTOP) }
    }

    /// Lets a paused server run again (SIGCONT).
    public func resume() {
        if let server = process.withLock({ $0 }) { _ = Glibc.kill(server.pid, SIGCONT) }
    }

    /// The server's log, to explain a failure.
    public var log: String {
        (try? String(contentsOf: directory.appendingPathComponent("redis.log"), encoding: .utf8)) ?? ""
    }

    private func signal(_ number: Int32) {
        guard let server = process.withLock({ $0.take() }) else { return }
        _ = Glibc.kill(server.pid, SIGCONT)  // a paused server cannot act on SIGTERM
        server.terminate(with: number)
    }

    private func waitUntilAnswering(_ server: ChildProcess) throws {
        let address = try SocketAddress(parsing: "127.0.0.1:\(port)")
        let deadline = MonotonicClock.now() + 10_000_000_000
        while MonotonicClock.now() < deadline {
            guard server.isRunning else {
                throw RedisServerFixtureError("redis-server exited at start: \(log.suffix(500))")
            }
            if Self.answersPing(address) { return }
            usleep(10_000)
        }
        throw RedisServerFixtureError("redis-server on port \(port) did not answer PING within 10 s")
    }

    private static func answersPing(_ address: SocketAddress) -> Bool {
        guard let socket = try? Socket.connect(to: address) else { return false }
        defer { socket.close() }
        let ping = Array("PING\r\n".utf8)
        var reply: [UInt8] = []
        for _ in 0..<100 {
            if reply.isEmpty, socket.pendingError() == 0 {
                if case .bytes = ping.withUnsafeBytes({ socket.write($0) }) { reply = [0] }
            }
            if !reply.isEmpty {
                var buffer = [UInt8](repeating: 0, count: 64)
                if case .bytes(let count) = socket.read(into: &buffer, count: buffer.count) {
                    // With --requirepass the answer is -NOAUTH: the server is up all the same.
                    let reply = String(decoding: buffer[..<count], as: UTF8.self)
                    return reply.hasPrefix("+PONG") || reply.hasPrefix("-NOAUTH")
                }
            }
            usleep(2_000)
        }
        return false
    }

    /// A loopback port nothing listens on right now.
    static func freePort() throws -> UInt16 {
        let listener = try Socket.listen(on: SocketAddress(parsing: "127.0.0.1:0"))
        defer { listener.close() }
        return try listener.localAddress().port
    }

    /// Where the program `name` (`redis-server`, `redis-sentinel`, `redis-cli`) is installed.
    static func executable(_ name: String = "redis-server", package: String = "redis-server") throws -> URL {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/usr/local/bin"
        for directory in path.split(separator: ":").map(String.init) + ["/usr/bin", "/usr/local/bin", "/usr/sbin"] {
            let candidate = URL(fileURLWithPath: directory).appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        throw RedisServerFixtureError("\(name) not found on PATH; install it (apt-get install -y \(package))")
    }
}

/// The fixture could not provide a server.
public struct RedisServerFixtureError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
