#if canImport(Glibc)
import Glibc
#endif

/// What `lockd exec` does next, decided from what just happened: a value,
/// tested without processes or a server. ``ExecSupervisor`` feeds it events
/// and carries out the actions it returns.
///
/// ```swift
/// var machine = ExecStateMachine(sharesTerminal: false)
/// machine.handle(.granted)               // [.spawn]
/// machine.handle(.leaseLost)             // [.terminateChild]
/// machine.handle(.childExited(.signalled(SIGTERM)))   // [.finish(.exit(70))]
/// ```
struct ExecStateMachine {
    /// How the command ended, as `waitpid` tells.
    enum ChildStatus: Equatable {
        case exited(Int32)
        case signalled(Int32)
    }

    /// Why the lease could not be had.
    enum AcquireFailure: Equatable {
        /// Someone else held the lock for the whole `--wait`.
        case held
        /// lockd could not be reached, or could not serve, for the client's whole budget.
        case unreachable
        /// lockd refused the request (a bad name, a TTL out of range, a limit it does not serve).
        case refused
        /// lockd refused the bearer token, or the token lacks the `lock` grant (401, 403).
        case notPermitted
        /// The acquire was cancelled (after a signal to `lockd exec`).
        case cancelled
    }

    /// How the release at the end went.
    enum ReleaseResult: Equatable {
        case released
        /// lockd no longer knew the lease: it had ended while the command ran.
        case lost
        /// lockd could not be asked in time; the lease ends at its TTL.
        case failed
    }

    enum Event: Equatable {
        case granted
        case acquireFailed(AcquireFailure)
        /// A signal to `lockd exec`; `fromKernel` when the kernel sent it (a
        /// terminal's Ctrl-C or hang-up) rather than another process's `kill`.
        case signal(Int32, fromKernel: Bool)
        /// The command could not be started (`errno`).
        case spawnFailed(Int32)
        case childExited(ChildStatus)
        case leaseLost
        /// `--kill-after` has passed since the command was told to stop.
        case killDeadline
        case released(ReleaseResult)
    }

    /// How `lockd exec` itself ends.
    enum Outcome: Equatable {
        /// `exit(code)`.
        case exit(Int32)
        /// Dies by this signal, as the command did (see ``ExecStateMachine/outcome(of:)``).
        case dieBy(Int32)
    }

    enum Action: Equatable {
        /// Cancel the acquire in flight (its lease, if granted meanwhile, is released).
        case cancelAcquire
        /// Start the command.
        case spawn
        /// Pass the signal on to the command (its process group, when it has its own).
        case forward(Int32)
        /// The lease is lost: send the command SIGTERM, and a ``Event/killDeadline`` after `--kill-after`.
        case terminateChild
        /// `--kill-after` passed and it still runs: SIGKILL.
        case killChild
        /// Give the lease back.
        case release
        /// Exit.
        case finish(Outcome)
    }

    private enum Phase: Equatable {
        case acquiring
        case running
        case releasing
        case finished
    }

    /// Whether the command shares `lockd exec`'s process group and terminal
    /// (`lockd exec` runs in the foreground of a terminal): then what the
    /// terminal sends reaches the command by itself and is not forwarded again.
    let sharesTerminal: Bool
    private var phase = Phase.acquiring
    /// The first SIGTERM/SIGINT/SIGHUP that arrived before the command ran.
    private var stoppedBy: Int32?
    private var lost = false
    private var childStatus: ChildStatus?
    private var spawnError: Int32?

    init(sharesTerminal: Bool) {
        self.sharesTerminal = sharesTerminal
    }

    /// The actions `event` calls for, in order.
    mutating func handle(_ event: Event) -> [Action] {
        switch (phase, event) {
        case (.acquiring, .signal(let number, _)) where number != SIGCHLD:
            guard stoppedBy == nil else { return [] }
            stoppedBy = number
            return [.cancelAcquire]
        case (.acquiring, .granted):
            if stoppedBy != nil {
                phase = .releasing
                return [.release]
            }
            phase = .running
            return [.spawn]
        case (.acquiring, .acquireFailed(let failure)):
            phase = .finished
            if let number = stoppedBy { return [.finish(.exit(128 + number))] }
            switch failure {
            case .held: return [.finish(.exit(ClientExitCode.lockHeld))]
            case .unreachable: return [.finish(.exit(ClientExitCode.unavailable))]
            case .refused: return [.finish(.exit(ClientExitCode.usage))]
            case .notPermitted: return [.finish(.exit(ClientExitCode.notPermitted))]
            // Cancelled without a signal of ours: nothing else cancels it.
            case .cancelled: return [.finish(.exit(ClientExitCode.unavailable))]
            }

        case (.running, .signal(let number, let fromKernel)) where number != SIGCHLD:
            // The terminal sent it to the whole foreground group, the command included.
            if sharesTerminal && fromKernel { return [] }
            return [.forward(number)]
        case (.running, .spawnFailed(let error)):
            spawnError = error
            phase = .releasing
            return [.release]
        case (.running, .leaseLost):
            guard !lost else { return [] }
            lost = true
            return [.terminateChild]
        case (.running, .killDeadline):
            return [.killChild]
        case (.running, .childExited(let status)):
            childStatus = status
            if lost {
                phase = .finished
                return [.finish(.exit(ClientExitCode.leaseLost))]
            }
            phase = .releasing
            return [.release]

        case (.releasing, .released(let result)):
            phase = .finished
            return [.finish(finalOutcome(after: result))]

        default:
            return []
        }
    }

    private func finalOutcome(after release: ReleaseResult) -> Outcome {
        if let number = stoppedBy { return .exit(128 + number) }
        if let error = spawnError { return .exit(error == ENOENT ? ClientExitCode.notFound : ClientExitCode.notExecutable) }
        if release == .lost { return .exit(ClientExitCode.leaseLost) }
        return childStatus.map(Self.outcome(of:)) ?? .exit(ClientExitCode.leaseLost)
    }

    /// The command's own status: its exit code, or for a command killed by
    /// signal N the shell's 128+N — except SIGINT and SIGQUIT, by which
    /// `lockd exec` then dies itself, so that a calling shell script stops
    /// as it would had it run the command directly (`$?` is 128+N either way).
    static func outcome(of status: ChildStatus) -> Outcome {
        switch status {
        case .exited(let code): return .exit(code)
        case .signalled(let number) where number == SIGINT || number == SIGQUIT: return .dieBy(number)
        case .signalled(let number): return .exit(128 + number)
        }
    }
}
