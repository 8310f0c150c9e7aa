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

    /// Starts `executable` with `arguments`; its output goes to /dev/null
    /// unless the program writes a log of its own.
    /// - Throws: ``ChildProcessError`` when it cannot be started.
    public init(executable: String, arguments: [String]) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
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
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        guard result == 0 else { throw ChildProcessError(description: "cannot start \(executable): errno \(result)") }
        self.pid = pid
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
