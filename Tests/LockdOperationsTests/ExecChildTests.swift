import Foundation
import LockdTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The command `lockd exec` starts, as the kernel sees it: told at once when
/// `lockd exec` dies without a chance to act (nobody renews its lease any
/// more), started with no signal blocked and SIGPIPE at its default, and the
/// shell's 126 for a file it cannot run.
@Suite struct ExecChildTests {
    /// A SIGKILLed `lockd exec` (as by the OOM killer) runs no code; the
    /// kernel sends the command SIGTERM, its parent-death signal.
    @Test func aCommandGetsSIGTERMWhenLockdExecIsKilled() async throws {
        try await StoreKind.memory.withLockdProcess { lockd, _ in
            let cli = try LockdCLI(server: lockd.url)
            let traps = "trap \"touch '\(cli.marker("term"))'; exit 0\" TERM; echo $$ > '\(cli.marker("command"))';"
            let exec = try cli.start(["exec", uniqueLockName("exec"), "--ttl", "30s", "--", "sh", "-c", cli.holdUntilGo(traps: traps)])
            let started = await eventually(within: .seconds(10)) { cli.exists("started") }
            try #require(started, "\(exec.stderr)")
            let command = try #require(pid_t(cli.read("command").trimmingCharacters(in: .whitespacesAndNewlines)))
            // Leave no command behind, whatever happens below.
            defer {
                FileManager.default.createFile(atPath: cli.marker("go"), contents: nil)
                if Self.isAlive(command) { kill(command, SIGKILL) }
            }

            exec.process.send(signal: SIGKILL)
            #expect(try await exec.finish() == .signalled(SIGKILL))
            // Well inside the 30 s TTL: the signal, not the lease's end, stops it.
            let stopped = await eventually(within: .seconds(5)) { cli.exists("term") && !Self.isAlive(command) }
            #expect(stopped, "the command (pid \(command)) ran on after lockd exec was killed; SIGTERM marked: \(cli.exists("term"))")
        }
    }

    /// The parent-death signal follows the *thread* that forked the command,
    /// and Swift's pool threads end after a few idle seconds (libdispatch's
    /// are let go after 5 s): a command forked on one would be sent SIGTERM
    /// while `lockd exec` still runs. It runs its 8 s to the end.
    @Test func aCommandOutlivingIdlePoolThreadsIsNotSignalled() async throws {
        try await StoreKind.memory.withLockdProcess { lockd, _ in
            let cli = try LockdCLI(server: lockd.url)
            let script = "trap \"touch '\(cli.marker("term"))'; exit 3\" TERM; sleep 8 & wait; touch '\(cli.marker("done"))'"
            let (termination, run) = try await cli.run(["exec", uniqueLockName("exec"), "--ttl", "30s", "--", "sh", "-c", script])
            #expect(termination == .exited(0), "\(run.stderr)")
            #expect(!cli.exists("term"), "the command got SIGTERM while lockd exec ran")
            #expect(cli.exists("done"))
        }
    }

    /// `lockd exec`'s own threads block signals and the Swift runtime may
    /// ignore SIGPIPE; none of that reaches the command.
    @Test func theCommandStartsWithNoSignalBlockedOrCaughtAndSIGPIPEAtItsDefault() async throws {
        try await StoreKind.memory.withLockdProcess { lockd, _ in
            let cli = try LockdCLI(server: lockd.url)
            let (termination, run) = try await cli.run(["exec", uniqueLockName("exec"), "--", "cat", "/proc/self/status"])
            #expect(termination == .exited(0), "\(run.stderr)")
            let masks = Dictionary(uniqueKeysWithValues: run.stdout.split(separator: "\n").compactMap { line -> (String, UInt64)? in
                let fields = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard fields.count == 2, fields[0].hasPrefix("Sig"), let mask = UInt64(fields[1], radix: 16) else { return nil }
                return (fields[0], mask)
            })
            #expect(masks["SigBlk"] == 0, "blocked: \(String(masks["SigBlk"] ?? 0, radix: 16))")
            #expect(masks["SigCgt"] == 0, "caught: \(String(masks["SigCgt"] ?? 0, radix: 16))")
            let ignored = try #require(masks["SigIgn"], "\(run.stdout)")
            #expect(ignored & (1 << (UInt64(SIGPIPE) - 1)) == 0, "SIGPIPE ignored")
        }
    }

    @Test func aFileThatIsNotExecutableExits126AndGivesTheLockBack() async throws {
        try await StoreKind.memory.withLockdProcess { lockd, _ in
            let cli = try LockdCLI(server: lockd.url)
            let name = uniqueLockName("exec")
            FileManager.default.createFile(atPath: cli.marker("not-executable"), contents: Data("exit 0\n".utf8),
                                           attributes: [.posixPermissions: 0o644])
            let (termination, run) = try await cli.run(["exec", name, "--", cli.marker("not-executable")])
            #expect(termination == .exited(126), "\(run.stderr)")
            #expect(run.stderr.contains("cannot run") && run.stderr.contains("Permission denied"), "\(run.stderr)")
            #expect(try await ExecTests.isHeld(lockd, name) == false)
        }
    }

    /// Whether `pid` runs (a zombie waiting for its new parent to reap it does not).
    static func isAlive(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        return !stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
    }
}
