import Foundation
import LockdTLS

#if canImport(Glibc)
import Glibc
#endif

/// The real `lockd` binary, started by a test on a loopback port of its own,
/// so that a test can pause it (SIGSTOP, as a GC pause or an overloaded host
/// would), kill it, or read what it logged.
///
/// Its standard output and error go to a file in a fresh temporary
/// directory, so tests can read what it logged. The environment is this
/// process's without any `LOCKD_*` variable, plus what the test passes.
///
/// ```swift
/// let lockd = try await LockdProcess.start(["--redis", redis.url])
/// defer { lockd.stop() }
/// let reply = try await lockd.request("POST", "/locks/orders")
/// ```
public final class LockdProcess: Sendable {
    /// The child process.
    public let process: ChildProcess
    /// Where lockd listens.
    public let host: String
    /// The port lockd listens on.
    public let port: UInt16
    /// lockd's scratch directory (its log), removed with this object or, when
    /// the test process dies first, by a later one (``ScratchDirectory``).
    public let directory: URL

    /// Everything lockd has written to standard output and error so far.
    public var output: String { Self.read(directory.appendingPathComponent("lockd.log")) }

    /// Starts lockd and waits until it logs the address it listens on.
    /// - Parameters:
    ///   - listen: passed as `--listen` first; nil leaves the address to the
    ///     other arguments, the environment or a config file.
    ///   - launcher: a command that runs lockd, such as `["/usr/bin/taskset", "-c", "0"]`;
    ///     it must exec lockd, so that the child's id is lockd's.
    /// - Throws: when it exits or does not listen within 10 s (output attached).
    public static func start(
        _ arguments: [String], environment: [String: String] = [:], listen: String? = "127.0.0.1:0", launcher: [String] = []
    ) async throws -> LockdProcess {
        let directory = try temporaryDirectory()
        let logPath = directory.appendingPathComponent("lockd.log")
        let command = launcher + [try binaryPath()] + (listen.map { ["--listen", $0] } ?? []) + arguments
        let process = try ChildProcess(
            executable: command[0],
            arguments: Array(command.dropFirst()),
            environment: cleanEnvironment(adding: environment),
            outputPath: logPath.path,
            diesWithTestProcess: true
        )
        let found = await eventually(within: .seconds(10)) {
            !process.isRunning || listeningAddress(in: read(logPath)) != nil
        }
        guard found, let (host, port) = listeningAddress(in: read(logPath)) else {
            try? await offThePool { process.terminate(with: SIGKILL) }
            throw TestFailure("lockd did not start listening: \(read(logPath).suffix(2_000))")
        }
        return LockdProcess(process: process, host: host, port: port, directory: directory)
    }

    /// Runs lockd to completion, for settings that must make it fail.
    /// - Returns: how it ended (nil: still running after `timeout`, then killed) and its output.
    public static func runToExit(_ arguments: [String], environment: [String: String] = [:], timeout: Duration = .seconds(10))
        async throws -> (termination: ChildProcess.Termination?, output: String) {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let logPath = directory.appendingPathComponent("lockd.log")
        let process = try ChildProcess(executable: try binaryPath(), arguments: arguments,
                                       environment: cleanEnvironment(adding: environment), outputPath: logPath.path,
                                       diesWithTestProcess: true)
        let termination = try await offThePool { process.waitForExit(timeout: timeout) }
        if termination == nil { try await offThePool { process.terminate(with: SIGKILL) } }
        return (termination, read(logPath))
    }

    private init(process: ChildProcess, host: String, port: UInt16, directory: URL) {
        self.process = process
        self.host = host
        self.port = port
        self.directory = directory
    }

    deinit {
        process.terminate(with: SIGKILL)
        try? FileManager.default.removeItem(at: directory)
    }

    /// lockd's base URL, `http://HOST:PORT`.
    public var url: URL {
        // A host and port always make a valid URL.
        URL(string: "http://\(host):\(port)") ?? URL(fileURLWithPath: "/")
    }

    /// Freezes lockd (SIGSTOP): connections stay open, nothing is answered.
    public func pause() { _ = kill(process.pid, SIGSTOP) }

    /// Lets a paused lockd run again (SIGCONT).
    public func resume() { _ = kill(process.pid, SIGCONT) }

    /// Stops lockd with SIGKILL (tests that check a graceful stop signal it themselves).
    public func stop() async {
        try? await offThePool { [process] in process.terminate(with: SIGKILL) }
    }

    /// The names of lockd's threads now (`lockd-loop-0`, …), from /proc.
    public var threadNames: [String] {
        let tasks = "/proc/\(process.pid)/task"
        let ids = (try? FileManager.default.contentsOfDirectory(atPath: tasks)) ?? []
        return ids.compactMap { Self.read(URL(fileURLWithPath: "\(tasks)/\($0)/comm")).split(separator: "\n").first.map(String.init) }
    }

    /// Sends one request on a new connection and reads the response.
    /// - Parameter timeout: the longest wait for the whole response; longer is a hang.
    /// - Parameter tls: speak HTTPS with these settings (lockd runs with `--tls-cert-file`).
    public func request(_ method: String, _ path: String, body: String? = nil, headers: [String: String] = [:],
                 tls: TLSClientConfiguration? = nil, timeout: Duration = .seconds(5)) async throws -> Reply {
        let (host, port) = (self.host, self.port)
        let started = ContinuousClock.now
        var head = "\(method) \(path) HTTP/1.1\r\nHost: lockd\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        let bytes = Array((body ?? "").utf8)
        head += "Content-Length: \(bytes.count)\r\n\r\n"
        let request = Array(head.utf8) + bytes
        // Connecting (and a TLS handshake) blocks briefly; the read waits off the
        // pool by itself. Sent on the connecting thread at once: a busy pool
        // resumed the test more than lockd's idle timeout (300 ms in SizingTests)
        // after the connect, and lockd had closed the silent connection.
        let client = try await offThePool {
            let client = try RawHTTPClient(host: host, port: port, tls: tls)
            try client.send(request)
            return client
        }
        let response = try await client.readResponse(timeout: timeout)
        return Reply(response: response, elapsed: ContinuousClock.now - started)
    }

    // MARK: Locating and starting

    /// The `lockd` binary next to the test runner (`.build/<triple>/debug/`),
    /// or `$LOCKD_BINARY`.
    public static func binaryPath() throws -> String {
        if let path = ProcessInfo.processInfo.environment["LOCKD_BINARY"] { return path }
        return try builtExecutable("lockd")
    }

    /// The package's executable `name` next to the test runner (a test
    /// target that runs it depends on it, so that it is built with the tests).
    public static func builtExecutable(_ name: String) throws -> String {
        // On Linux the runner is `lockdPackageTests.xctest`, a plain executable
        // in the build directory; on macOS it sits three levels inside a bundle.
        let runner = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? Bundle.main.executablePath ?? CommandLine.arguments[0]
        var directory = URL(fileURLWithPath: runner).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent(name).path
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate, isDirectory: &isDirectory), !isDirectory.boolValue,
               FileManager.default.isExecutableFile(atPath: candidate) {
                return candidate
            }
            directory.deleteLastPathComponent()
        }
        throw TestFailure("no \(name) binary near \(runner); build it with `swift build --build-tests`")
    }

    private static func cleanEnvironment(adding extra: [String: String]) -> [String: String] {
        ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("LOCKD_") }.merging(extra) { $1 }
    }

    private static func temporaryDirectory() throws -> URL {
        try ScratchDirectory.make("lockd-ops")
    }

    private static func read(_ url: URL) -> String {
        (try? String(contentsOf: url, encoding: .utf8)) ?? ""
    }

    /// The address from lockd's "lockd listening" line, in text
    /// (`addresses=127.0.0.1:7070`) or JSON (`"addresses":"127.0.0.1:7070"`) format.
    public static func listeningAddress(in log: String) -> (host: String, port: UInt16)? {
        guard let line = log.split(separator: "\n").first(where: { $0.contains("lockd listening") }),
              let key = line.firstRange(of: "addresses") else { return nil }
        let value = line[key.upperBound...].drop { $0 == "=" || $0 == "\"" || $0 == ":" }
            .prefix { !$0.isWhitespace && $0 != "\"" && $0 != "," }
        guard let colon = value.lastIndex(of: ":"), let port = UInt16(value[value.index(after: colon)...]) else { return nil }
        return (String(value[..<colon]), port)
    }
}

/// A response and how long it took from connecting to its last byte.
public struct Reply: Sendable {
    /// The response as read.
    public let response: RawHTTPResponse
    /// From connecting to the last byte.
    public let elapsed: Duration

    /// The status code.
    public var status: Int { response.status }
    /// A header field's value, by case-insensitive name.
    public func header(_ name: String) -> String? { response.header(name) }

    /// The body as a JSON object (empty when it is none).
    public var json: [String: Any] {
        ((try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any]) ?? [:]
    }

    /// The body as UTF-8 text.
    public var text: String { response.text }
}
