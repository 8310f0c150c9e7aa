import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Starts children that must not outlive this test process: a server left
/// behind by a killed or crashed test run keeps its port and memory until
/// someone finds it by hand.
///
/// Linux sends a child its parent-death signal (`PR_SET_PDEATHSIG`) when the
/// *thread* that started it exits, not the process. Swift's pool threads and
/// ``offThePool(_:)``'s threads come and go, so children are started here,
/// from one thread that never returns: it ends only with the process, however
/// that ends (exit, crash, SIGKILL), and the kernel then kills each child.
///
/// The child runs `setpriv --pdeathsig KILL sh -c '…' program arguments…`:
/// setpriv arms the signal, the shell checks that its parent is still this
/// process (a parent gone before the signal was armed would never send it)
/// and execs the program, so the child's PID stays the program's.
enum LifelongSpawner {
    /// The launcher prefix for `executable`, or nil when `setpriv` is missing
    /// (then the child is started plainly and only stopped by the test).
    static func launcher(for executable: String) -> [String]? {
        guard let setpriv else { return nil }
        let script = #"[ "$PPID" = "\#(getpid())" ] || exit 70; exec "$0" "$@""#
        return [setpriv, "--pdeathsig", "KILL", "/bin/sh", "-c", script, executable]
    }

    /// Runs `work` (a `posix_spawn`) on the lifelong thread and waits for it.
    static func run<T: Sendable>(_ work: @escaping @Sendable () -> T) -> T {
        let outcome = Outcome<T>()
        thread.submit { outcome.set(work()) }
        return outcome.wait()
    }

    private static let setpriv: String? = ["/usr/bin/setpriv", "/bin/setpriv"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    private static let thread = SpawnerThread()

    /// A job's result, handed from the lifelong thread to the caller.
    private final class Outcome<T: Sendable>: Sendable {
        private let value = Mutex<T?>(nil)
        private let done = DispatchSemaphore(value: 0)

        func set(_ result: T) {
            value.withLock { $0 = result }
            done.signal()
        }

        func wait() -> T {
            while true {
                done.wait()
                if let result = value.withLock({ $0 }) { return result }
            }
        }
    }

    /// The thread itself: takes jobs in order, forever.
    private final class SpawnerThread: Sendable {
        private let jobs = Mutex<[@Sendable () -> Void]>([])
        private let pending = DispatchSemaphore(value: 0)

        init() {
            let thread = Thread { [self] in
                while true {
                    pending.wait()
                    if let job = jobs.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) { job() }
                }
            }
            thread.name = "lifelong-spawner"
            thread.start()
        }

        func submit(_ job: @escaping @Sendable () -> Void) {
            jobs.withLock { $0.append(job) }
            pending.signal()
        }
    }
}
