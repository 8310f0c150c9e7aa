import ArgumentParser
import CLockdChild
import LockdClient

#if canImport(Glibc)
import Glibc
#endif

/// `lockd exec NAME -- CMD ARGS…`: runs a command while holding a lock, for
/// shell scripts and cron (what `flock`, `etcdctl lock` and `consul lock` do).
struct ExecCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec",
        abstract: "Run a command while holding a lock.",
        discussion: """
            Waits for the lock, runs CMD with LOCKD_NAME and LOCKD_FENCE in its environment \
            (and this process's standard input, output and error), renews the lease at about \
            a third of its TTL while CMD runs, and releases it when CMD exits. If the lease is \
            lost, CMD gets SIGTERM, then SIGKILL after --kill-after. SIGTERM, SIGINT and SIGHUP \
            sent to lockd exec are passed on to CMD. If lockd exec itself is killed (SIGKILL, \
            the OOM killer, a crash), CMD gets SIGTERM at once (on Linux; CMD alone).

            Exit status: CMD's (128+N if signal N killed it); 75 the lock stayed held for all \
            of --wait (CMD never ran); 69 lockd could not be reached (CMD never ran); 70 the \
            lease was lost while CMD ran; 64 lockd refused the request; 77 lockd refused the \
            auth token or it lacks the lock grant (CMD never ran); 127 CMD not found.

            Process groups: run from cron, systemd, CI or any other non-terminal, CMD leads a \
            process group of its own, and forwarded signals and the SIGTERM/SIGKILL of a lost \
            lease go to that whole group (a shell's pipeline, make's jobs). In the foreground \
            of a terminal, CMD stays in lockd exec's group, as with flock, so it can read the \
            terminal and Ctrl-C and Ctrl-Z reach it directly; signals sent with kill then go \
            to CMD alone. lockd exec waits for CMD only: processes CMD starts in the background \
            and leaves running when it exits are not waited for and not signalled, and run on \
            without the lock once it is released.

            Examples:
              # cron: at most one nightly report at a time, across every host
              0 2 * * * lockd exec --server http://lockd.internal:7070 reports:nightly --wait 0 -- /opt/reports/run.sh
              lockd exec deploy:web --ttl 1m --wait 10m -- ./deploy.sh "$VERSION"
            """
    )

    @Argument(help: "The lock's name: 1-255 bytes of A-Z a-z 0-9 . _ : -")
    var name: String

    @Option(help: ArgumentHelp(
        "How long to wait for the lock to come free; 0 tries once (default 10s).", valueName: "duration"),
        transform: DurationText.parse)
    var wait: Duration?

    @Option(name: .customLong("kill-after"), help: ArgumentHelp(
        "After a lost lease's SIGTERM, how long CMD may take to exit before SIGKILL (default 10s).", valueName: "duration"),
        transform: DurationText.parse)
    var killAfter: Duration?

    @OptionGroup var lease: LeaseOptions
    @OptionGroup var client: ClientOptions

    @Argument(parsing: .postTerminator, help: ArgumentHelp("The command and its arguments, after --.", valueName: "cmd"))
    var command: [String] = []

    func validate() throws {
        guard !command.isEmpty else {
            throw ValidationError("give the command to run after --, as in: lockd exec \(name) -- CMD ARGS…")
        }
    }

    func run() async throws {
        let supervisor = ExecSupervisor(
            name: name,
            command: command,
            client: try client.makeClient(owner: lease.ownerLabel),
            ttl: lease.leaseTTL,
            wait: wait ?? .seconds(10),
            limit: lease.limit,
            mode: lease.mode,
            lockDelay: lease.lockDelay,
            killAfter: killAfter ?? .seconds(10)
        )
        switch await supervisor.run() {
        case .exit(let code):
            // Everything lockd exec writes went out by write(2) already: skip the
            // atexit handlers (libcurl's and OpenSSL's global clean-ups), which
            // free nothing the kernel does not, at a millisecond of start-to-end time.
            _exit(code)
        case .dieBy(let signal):
            lockd_die_by_signal(signal)
            throw ExitCode(128 + signal)  // if the signal did not end it
        }
    }
}
