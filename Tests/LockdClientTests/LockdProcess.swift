import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The `lockd` executable run as a child process, so that a test can pause it
/// (SIGSTOP) the way a GC pause or an overloaded host would.
///
/// The binary is the one `swift build` put next to the test bundle.
final class LockdProcess: Sendable {
    /// lockd's base URL.
    let url: URL
    private let process: Process
    private let output: Output

    /// Starts lockd on a free loopback port and waits until it listens.
    static func start(redisURL: String? = nil) async throws -> LockdProcess {
        let executable = try Self.executable()
        let process = Process()
        process.executableURL = executable
        process.arguments = ["--listen", "127.0.0.1:0", "--log-level", "info"] + (redisURL.map { ["--redis", $0] } ?? [])
        let pipe = Pipe()
        process.standardError = pipe
        process.standardOutput = FileHandle.nullDevice
        let output = Output()
        // Drained for as long as lockd runs, so that it never blocks on a full pipe.
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            // At end of file the handler would fire forever with empty data.
            if data.isEmpty { handle.readabilityHandler = nil } else { output.append(data) }
        }
        try process.run()
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            if let port = output.listeningPort, let url = URL(string: "http://127.0.0.1:\(port)") {
                return LockdProcess(url: url, process: process, output: output)
            }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        _ = kill(process.processIdentifier, SIGKILL)
        throw TestFailure("lockd did not report a listening address: \(output.text.suffix(1000))")
    }

    private init(url: URL, process: Process, output: Output) {
        self.url = url
        self.process = process
        self.output = output
    }

    deinit { stop() }

    /// Freezes lockd (SIGSTOP): connections stay open, nothing is answered.
    func pause() { _ = kill(process.processIdentifier, SIGSTOP) }

    /// Lets a paused lockd run again (SIGCONT).
    func resume() { _ = kill(process.processIdentifier, SIGCONT) }

    /// Kills lockd (SIGKILL, which works on a paused process and whatever its
    /// signal mask) and waits for it to exit.
    func stop() {
        guard process.isRunning else { return }
        _ = kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// `lockd` next to the running test binary (`.build/<triple>/debug/`).
    private static func executable() throws -> URL {
        let testBinary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var directory = testBinary.deletingLastPathComponent()
        // On some layouts the test binary sits inside a `.xctest` bundle directory.
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("lockd")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        throw TestFailure("no lockd binary near \(testBinary.path); run `swift build` first")
    }

    /// lockd's standard error, collected as it comes.
    private final class Output: Sendable {
        private let bytes = Mutex(Data())

        func append(_ data: Data) { bytes.withLock { $0.append(data) } }

        var text: String { bytes.withLock { String(decoding: $0, as: UTF8.self) } }

        /// The port from lockd's "listening" log line, once it has been written.
        var listeningPort: Int? {
            for line in text.split(separator: "\n") where line.contains("listening") {
                if let match = line.firstMatch(of: /127\.0\.0\.1:(\d+)/), let port = Int(match.1) { return port }
            }
            return nil
        }
    }
}
