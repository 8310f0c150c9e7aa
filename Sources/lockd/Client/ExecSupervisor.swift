import CLockdChild
import Foundation
import LockdClient

#if canImport(Glibc)
import Glibc
#endif

/// Carries out `lockd exec`: takes the lease, runs the command under it, and
/// does what ``ExecStateMachine`` decides as signals, the command's exit,
/// the lease's loss and the release come in — all as events on one stream,
/// handled one at a time.
///
/// The command runs in a process group of its own, so that a forwarded signal
/// or the SIGTERM of a lost lease reaches everything it started (a shell's
/// pipeline, make's jobs) — unless `lockd exec` runs in the foreground of a
/// terminal: then the command stays in `lockd exec`'s group, as with `flock`,
/// so that it can read the terminal and Ctrl-C and Ctrl-Z reach it directly;
/// a signal sent with `kill` is then forwarded to the command alone.
/// Should `lockd exec` die without a chance to act, the kernel sends the
/// command SIGTERM (``lockd_spawn``'s parent-death signal): nobody renews its
/// lease any more.
struct ExecSupervisor {
    let name: String
    let command: [String]
    let client: LockClient
    let ttl: Duration
    let wait: Duration
    let limit: Int
    let mode: LockMode
    let lockDelay: Duration
    let killAfter: Duration

    /// What comes in, from the acquire, the signal pipe, the lease and the timers.
    private enum Incoming: Sendable {
        case granted(Lease)
        case acquireFailed(any Error)
        case signal(UInt8)
        case leaseLost
        case killDeadline
        case released(ExecStateMachine.ReleaseResult)
    }

    /// Runs to the end and says how `lockd exec` ends.
    func run() async -> ExecStateMachine.Outcome {
        let (incoming, sink) = AsyncStream.makeStream(of: Incoming.self)
        let signals = [SIGTERM, SIGINT, SIGHUP, SIGCHLD]
        let pipe = lockd_signal_pipe(signals, Int32(signals.count))
        guard pipe >= 0 else {
            ClientOutput.error("exec", "cannot handle signals: \(String(cString: strerror(errno)))")
            return .exit(ClientExitCode.unavailable)
        }
        Self.readSignals(from: pipe, into: sink)

        var machine = ExecStateMachine(sharesTerminal: lockd_in_terminal_foreground() == 1)
        let (client, name, ttl, wait, limit, mode, lockDelay) = (client, name, ttl, wait, limit, mode, lockDelay)
        let acquire = Task {
            do {
                sink.yield(.granted(try await client.acquire(name, ttl: ttl, wait: wait, limit: limit, mode: mode, lockDelay: lockDelay)))
            } catch {
                sink.yield(.acquireFailed(error))
            }
        }
        var lease: Lease?
        var child: pid_t = 0
        var lossWatch: Task<Void, Never>?
        var killTimer: Task<Void, Never>?
        defer {
            lossWatch?.cancel()
            killTimer?.cancel()
        }

        for await item in incoming {
            let event: ExecStateMachine.Event
            switch item {
            case .granted(let granted):
                lease = granted
                event = .granted
            case .acquireFailed(let error):
                event = .acquireFailed(Self.classify(error, name: name))
            case .signal(let byte):
                let number = Int32(byte & ~UInt8(LOCKD_SIGNAL_FROM_KERNEL))
                if number == SIGCHLD {
                    guard child > 0, let status = Self.reap(child) else { continue }
                    event = .childExited(status)
                } else {
                    event = .signal(number, fromKernel: byte & UInt8(LOCKD_SIGNAL_FROM_KERNEL) != 0)
                }
            case .leaseLost:
                ClientOutput.error("exec", "\(name): lease lost; sending the command SIGTERM (SIGKILL after \(DurationText.format(killAfter)))")
                event = .leaseLost
            case .killDeadline:
                event = .killDeadline
            case .released(let result):
                event = .released(result)
            }

            var actions = machine.handle(event)
            while !actions.isEmpty {
                let action = actions.removeFirst()
                switch action {
                case .cancelAcquire:
                    acquire.cancel()
                case .spawn:
                    guard let lease else { continue }
                    switch spawn(fence: lease.fence, ownGroup: !machine.sharesTerminal) {
                    case .success(let pid):
                        child = pid
                        lossWatch = Task {
                            if (try? await lease.waitUntilLost()) == true { sink.yield(.leaseLost) }
                        }
                    case .failure(let error):
                        ClientOutput.error("exec", "cannot run \(command[0]): \(String(cString: strerror(error.code)))")
                        actions += machine.handle(.spawnFailed(error.code))
                    }
                case .forward(let number):
                    signalChild(child, number, group: !machine.sharesTerminal)
                case .terminateChild:
                    signalChild(child, SIGTERM, group: !machine.sharesTerminal)
                    let killAfter = killAfter
                    killTimer = Task {
                        guard (try? await Task.sleep(for: killAfter)) != nil else { return }
                        sink.yield(.killDeadline)
                    }
                case .killChild:
                    ClientOutput.error("exec", "\(name): the command outlived --kill-after; sending SIGKILL")
                    signalChild(child, SIGKILL, group: !machine.sharesTerminal)
                case .release:
                    lossWatch?.cancel()
                    guard let lease else { continue }
                    Task { sink.yield(.released(await Self.release(lease))) }
                case .finish(let outcome):
                    return outcome
                }
            }
        }
        return .exit(ClientExitCode.unavailable)  // the stream never ends by itself
    }

    // MARK: - The command

    private struct SpawnError: Error { let code: Int32 }

    /// Starts the command with the lock's name and fence in its environment:
    /// this process's `environ` as C strings, without a detour through Foundation.
    private func spawn(fence: Int64, ownGroup: Bool) -> Result<pid_t, SpawnError> {
        var envp: [UnsafeMutablePointer<CChar>?] = []
        var entry = environ
        while let variable = entry.pointee {
            if strncmp(variable, "LOCKD_NAME=", 11) != 0 && strncmp(variable, "LOCKD_FENCE=", 12) != 0 {
                envp.append(strdup(variable))
            }
            entry += 1
        }
        envp += [strdup("LOCKD_NAME=\(name)"), strdup("LOCKD_FENCE=\(fence)"), nil]
        let argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let result = lockd_spawn(&pid, command[0], argv, envp, ownGroup ? 1 : 0)
        return result == 0 ? .success(pid) : .failure(SpawnError(code: result))
    }

    /// Sends `number` to the command's process group (or to the command alone).
    private func signalChild(_ pid: pid_t, _ number: Int32, group: Bool) {
        guard pid > 0 else { return }
        _ = kill(group ? -pid : pid, number)
    }

    /// The command's status once it has exited; nil while it runs (or is stopped).
    private static func reap(_ pid: pid_t) -> ExecStateMachine.ChildStatus? {
        var raw: Int32 = 0
        var result: pid_t
        repeat { result = waitpid(pid, &raw, WNOHANG) } while result == -1 && errno == EINTR
        guard result == pid else { return nil }
        // The <sys/wait.h> macros, which Swift does not import.
        let signal = raw & 0x7F
        return signal == 0 ? .exited((raw >> 8) & 0xFF) : .signalled(signal)
    }

    // MARK: - The lease

    private static func classify(_ error: any Error, name: String) -> ExecStateMachine.AcquireFailure {
        if error is CancellationError { return .cancelled }
        switch ClientFailure.exit("exec", error, name: name).rawValue {
        case ClientExitCode.lockHeld: return .held
        case ClientExitCode.usage: return .refused
        case ClientExitCode.notPermitted: return .notPermitted
        default: return .unreachable
        }
    }

    private static func release(_ lease: Lease) async -> ExecStateMachine.ReleaseResult {
        do {
            try await lease.release()
            return .released
        } catch LockError.leaseLost {
            ClientOutput.error("exec", "\(lease.name): the lease was lost while the command ran (lockd no longer knew it at release)")
            return .lost
        } catch {
            ClientOutput.error("exec", "\(lease.name): cannot release (\(error)); the lease ends at its TTL")
            return .failed
        }
    }

    // MARK: - Signals

    /// Reads the signal pipe on a thread of its own (a blocking read must not
    /// hold one of Swift's few cooperative threads) for the life of the process.
    private static func readSignals(from pipe: Int32, into sink: AsyncStream<Incoming>.Continuation) {
        Thread.detachNewThread {
            var buffer = [UInt8](repeating: 0, count: 64)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(pipe, $0.baseAddress, $0.count) }
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else { return }
                for byte in buffer[..<count] { sink.yield(.signal(byte)) }
            }
        }
    }
}
