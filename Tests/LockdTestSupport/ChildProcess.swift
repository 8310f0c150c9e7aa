#if canImport(Glibc)
import Glibc
#endif

/// Starts and stops helper servers by PID.
///
/// `posix_spawn` with an empty signal mask and default handlers: test runners
/// block signals such as SIGTERM on their threads, and a child inherits that
/// mask — Foundation's `Process` passes it on, leaving a server that ignores
/// SIGTERM and a test that waits for it forever.
enum ChildProcess {
    /// Spawns `path` with `arguments`; standard input and output go to /dev/null.
    static func spawn(_ path: String, arguments: [String]) throws -> pid_t {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for number in [SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGQUIT] { sigaddset(&defaults, number) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for fd in [Int32(0), 1, 2] {
            posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0)
        }

        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, path, &actions, &attributes, argv, environ)
        guard result == 0 else {
            throw RedisServerFixtureError("posix_spawn \(path) failed: errno \(result)")
        }
        return pid
    }

    /// Whether the child still runs (reaps it if it has exited).
    static func isRunning(_ pid: pid_t) -> Bool {
        var status: Int32 = 0
        return waitpid(pid, &status, WNOHANG) == 0
    }

    /// Sends `signal` and waits for the child to exit; SIGKILL after 10 s.
    static func stop(_ pid: pid_t, signal number: Int32) {
        guard isRunning(pid) else { return }
        _ = kill(pid, number)
        for _ in 0..<1_000 {
            if !isRunning(pid) { return }
            usleep(10_000)
        }
        _ = kill(pid, SIGKILL)
        var status: Int32 = 0
        _ = waitpid(pid, &status, 0)
    }
}
