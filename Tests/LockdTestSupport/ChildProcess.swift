import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A child process started with `posix_spawn` and reaped with `waitpid`.
///
/// Foundation's `Process` on Linux waits through a run loop and a SIGCHLD
/// source; called from Swift concurrency's small thread pool that can stall
/// every test in the process. These calls only block for as long as the
/// child takes to exit after a signal.
public final class ChildProcess: Sendable {
    /// The child's process id.
    public let pid: pid_t
    private let exitStatus = Mutex<Int32?>(nil)

    /// Starts `executable` with `arguments`.
    /// - Parameters:
    ///   - environment: The child's environment; nil passes this process's on.
    ///   - outputPath: A file that receives the child's standard output and
    ///     error (created or truncated); nil sends both to /dev/null.
    ///   - diesWithTestProcess: The kernel kills the child (SIGKILL) when this
    ///     process ends, however it ends (``LifelongSpawner``): for servers,
    ///     which must never outlive a killed or crashed test run. The child's
    ///     PID is still `executable`'s.
    /// - Throws: ``ChildProcessError`` when it cannot be started.
    public init(
        executable: String, arguments: [String], environment: [String: String]? = nil, outputPath: String? = nil,
        diesWithTestProcess: Bool = false
    ) throws {
        let spawned: (result: Int32, pid: pid_t)
        if diesWithTestProcess, let launcher = LifelongSpawner.launcher(for: executable) {
            spawned = LifelongSpawner.run {
                Self.spawn(launcher[0], Array(launcher.dropFirst()) + arguments, environment: environment, outputPath: outputPath)
            }
        } else {
            spawned = Self.spawn(executable, arguments, environment: environment, outputPath: outputPath)
        }
        guard spawned.result == 0 else { throw ChildProcessError(description: "cannot start \(executable): errno \(spawned.result)") }
        self.pid = spawned.pid
    }

    /// `posix_spawn` with stdin from /dev/null and stdout and stderr to `outputPath`.
    private static func spawn(
        _ executable: String, _ arguments: [String], environment: [String: String]?, outputPath: String?
    ) -> (result: Int32, pid: pid_t) {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath ?? "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // Threads of this process block signals (libdispatch does), and a
        // spawned child inherits the mask: without a reset it ignores SIGTERM.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for number in [SIGTERM, SIGINT, SIGPIPE, SIGHUP] { sigaddset(&defaults, number) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        let envp: [UnsafeMutablePointer<CChar>?]? = environment.map { $0.map { strdup("\($0.key)=\($0.value)") } + [nil] }
        defer { for pointer in envp ?? [] { free(pointer) } }
        var pid: pid_t = 0
        let result = envp.map { posix_spawn(&pid, executable, &actions, &attributes, argv, $0) }
            ?? posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        return (result, pid)
    }

    /// Whether the child has not exited yet.
    public var isRunning: Bool {
        exitStatus.withLock { status in
            guard status == nil else { return false }
            var raw: Int32 = 0
            if waitpid(pid, &raw, WNOHANG) == pid {
                status = raw
                return false
            }
            return true
        }
    }

    /// How a child ended.
    public enum Termination: Sendable, Equatable {
        /// It called `exit` with this status.
        case exited(Int32)
        /// A signal ended it.
        case signalled(Int32)
    }

    /// How the child ended; nil while it runs.
    public var termination: Termination? {
        guard !isRunning, let raw = exitStatus.withLock({ $0 }) else { return nil }
        // The <sys/wait.h> macros, which Swift does not import.
        let signal = raw & 0x7F
        return signal == 0 ? .exited((raw >> 8) & 0xFF) : .signalled(signal)
    }

    /// Sends `signal` without waiting for anything.
    public func send(signal: Int32) {
        if isRunning { kill(pid, signal) }
    }

    /// Waits up to `timeout` for the child to exit by itself.
    /// - Returns: how it ended, or nil when it still runs.
    public func waitForExit(timeout: Duration) -> Termination? {
        let deadline = ContinuousClock.now + timeout
        while isRunning, ContinuousClock.now < deadline { usleep(5_000) }
        return termination
    }

    /// Sends `signal` (if still running) and waits for the child to exit;
    /// a child still running after 5 s is killed.
    public func terminate(with signal: Int32) {
        exitStatus.withLock { status in
            guard status == nil else { return }
            kill(pid, signal)
            var raw: Int32 = 0
            for _ in 0..<500 {
                if waitpid(pid, &raw, WNOHANG) == pid {
                    status = raw
                    return
                }
                usleep(10_000)
            }
            kill(pid, SIGKILL)
            while waitpid(pid, &raw, 0) == -1, errno == EINTR {}
            status = raw
        }
    }

    deinit {
        terminate(with: SIGKILL)
    }
}

/// A child process could not be started.
public struct ChildProcessError: Error, CustomStringConvertible {
    public let description: String
}
