import Foundation
import LockdTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// The `lockd` binary as a client (`lockd exec`, `lockd acquire` …), run as a
/// child process against a test's lockd, with its standard output and error
/// kept apart (JSON on one, messages on the other), in a scratch directory
/// where the commands it runs leave marker files.
final class LockdCLI: Sendable {
    /// The scratch directory: markers, and the client's output files.
    let directory: String
    /// `LOCKD_SERVER` for every run.
    let server: String

    init(server: URL) throws {
        directory = try ScratchDirectory.make("lockd-cli").path
        self.server = server.absoluteString
    }

    deinit {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A started client: the child process and where its output goes.
    struct Run: Sendable {
        let process: ChildProcess
        let stdoutPath: String
        let stderrPath: String

        var stdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
        var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

        /// Waits for it to exit (killed after `timeout`).
        func finish(timeout: Duration = .seconds(20)) async throws -> ChildProcess.Termination? {
            let termination = try await offThePool { [process] in process.waitForExit(timeout: timeout) }
            if termination == nil { await offThePool { [process] in process.terminate(with: SIGKILL) } }
            return termination
        }

        /// stdout as a JSON object (empty when it is none).
        var json: [String: Any] {
            ((try? JSONSerialization.jsonObject(with: Data(stdout.utf8))) as? [String: Any]) ?? [:]
        }
    }

    /// Starts `lockd ARGUMENTS…` with `LOCKD_SERVER` set (and no other `LOCKD_*`
    /// from this process), standard input from /dev/null.
    func start(_ arguments: [String], environment: [String: String] = [:]) throws -> Run {
        let id = UUID().uuidString
        let stdoutPath = "\(directory)/\(id).out"
        let stderrPath = "\(directory)/\(id).err"
        var variables = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("LOCKD_") }
        variables["LOCKD_SERVER"] = server
        variables["CLI_TEST_STDERR"] = stderrPath
        variables.merge(environment) { $1 }
        // ChildProcess sends standard error where standard output goes; a shell
        // in between parts them, then execs lockd (same pid, so signals reach it).
        let process = try ChildProcess(
            executable: "/bin/sh",
            arguments: ["-c", #"exec "$0" "$@" 2>"$CLI_TEST_STDERR""#, try LockdProcess.binaryPath()] + arguments,
            environment: variables,
            outputPath: stdoutPath,
            diesWithTestProcess: true
        )
        return Run(process: process, stdoutPath: stdoutPath, stderrPath: stderrPath)
    }

    /// Runs `lockd ARGUMENTS…` to the end.
    func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> (ChildProcess.Termination?, Run) {
        let run = try start(arguments, environment: environment)
        return (try await run.finish(), run)
    }

    /// The path of a marker file in the scratch directory.
    func marker(_ name: String) -> String { "\(directory)/\(name)" }

    /// Whether the marker exists.
    func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: marker(name)) }

    /// The marker's contents ("" if absent).
    func read(_ name: String) -> String { (try? String(contentsOfFile: marker(name), encoding: .utf8)) ?? "" }

    /// A shell script (for `sh -c`) that marks `started`, then loops until the
    /// `go` marker appears, then runs `then`. `sleep` keeps the loop cheap.
    /// The loop also ends (exit 75) once this test process is gone: a killed
    /// test run leaves no shell polling forever.
    func holdUntilGo(then: String = "exit 0", traps: String = "") -> String {
        "\(traps) touch '\(marker("started"))'; while [ ! -e '\(marker("go"))' ]; do kill -0 \(getpid()) 2>/dev/null || exit 75; sleep 0.02; done; \(then)"
    }
}
