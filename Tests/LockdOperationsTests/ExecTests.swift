import Foundation
import LockdTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `lockd exec NAME -- CMD`, the real binary against a real lockd: the
/// command's status and environment, the lock around it, waiting and giving
/// up, an unreachable lockd, a lost lease, and signals passed on.
@Suite struct ExecTests {
    /// Whether lockd says `name` is held now.
    static func isHeld(_ lockd: LockdProcess, _ name: String) async throws -> Bool {
        try await lockd.request("GET", "/locks/\(name)").json["held"] as? Bool == true
    }

    @Test func passesTheExitStatusAndTheLockInTheEnvironmentAndReleases() async throws {
        try await StoreKind.memory.withLockdProcess { lockd, _ in
            let cli = try LockdCLI(server: lockd.url)
            let name = uniqueLockName("exec")
            let script = #"printf '%s %s' "$LOCKD_NAME" "$LOCKD_FENCE" > "$0"; echo to-stdout; exit 7"#
            let (termination, run) = try await cli.run(["exec", name, "--ttl", "5s", "--", "sh", "-c", script, cli.marker("env")])
            #expect(termination == .exited(7), "\(run.stderr)")
            #expect(run.stdout == "to-stdout\n", "the command's standard output is lockd exec's")
            let parts = cli.read("env").split(separator: " ")
            #expect(parts.first.map(String.init) == name)
            #expect((parts.last.flatMap { Int64($0) } ?? 0) >= 1, "LOCKD_FENCE: \(cli.read("env"))")
            #expect(try await Self.isHeld(lockd, name) == false, "released when the command exited")

            // Killed by a signal: 128+N, as a shell reports it.
            let (killed, _) = try await cli.run(["exec", name, "--", "sh", "-c", "kill -TERM $$"])
            #expect(killed == .exited(128 + SIGTERM))
            // Not found: the shell's 127, and the lock is given back.
            let (missing, missingRun) = try await cli.run(["exec", name, "--", cli.marker("no-such-command")])
            #expect(missing == .exited(127))
            #expect(missingRun.stderr.contains("cannot run"))
            #expect(try await Self.isHeld(lockd, name) == false)
        }
    }

    @Test func holdsTheLockWhileTheCommandRunsAndASecondExecWaitsThenGivesUpWith75() async throws {
        try await StoreKind.redis.withLockdProcess { lockd, redis in
            let redis = try #require(redis)
            let cli = try LockdCLI(server: lockd.url)
            let name = uniqueLockName("exec")
            let first = try cli.start(["exec", name, "--owner", "first-holder", "--", "sh", "-c", cli.holdUntilGo()])
            let started = await eventually(within: .seconds(10)) { cli.exists("started") }
            #expect(started, "\(first.stderr)")
            let status = try await lockd.request("GET", "/locks/\(name)").json
            #expect(status["held"] as? Bool == true)
            #expect((status["holders"] as? [[String: Any]])?.first?["owner"] as? String == "first-holder")

            let startedAt = ContinuousClock.now
            let second = try cli.start(["exec", name, "--wait", "1500ms", "--", "sh", "-c", "touch '\(cli.marker("second-ran"))'"])
            let queued = await eventually(within: .seconds(10)) { (try? await offThePool { redis.queuedWaiters(name) }) == 1 }
            #expect(queued, "the second exec never waited: \(second.stderr)")
            let gaveUp = try await second.finish()
            #expect(gaveUp == .exited(75), "\(second.stderr)")
            #expect(ContinuousClock.now - startedAt >= .milliseconds(1400), "gave up before --wait was over")
            #expect(!cli.exists("second-ran"), "the command of an exec that did not get the lock ran")
            #expect(second.stderr.contains("held by first-holder"), "\(second.stderr)")

            FileManager.default.createFile(atPath: cli.marker("go"), contents: nil)
            #expect(try await first.finish() == .exited(0), "\(first.stderr)")
            #expect(try await Self.isHeld(lockd, name) == false)
        }
    }

    @Test func exits69WhenLockdCannotBeReachedAndNeverRunsTheCommand() async throws {
        // The discard port: nothing listens there (as in the SDK's tests).
        let cli = try LockdCLI(server: try #require(URL(string: "http://127.0.0.1:9")))
        let (termination, run) = try await cli.run(
            ["exec", uniqueLockName("exec"), "--wait", "0", "--timeout", "500ms", "--", "sh", "-c", "touch '\(cli.marker("ran"))'"])
        #expect(termination == .exited(69), "\(run.stderr)")
        #expect(run.stderr.contains("cannot reach lockd"), "\(run.stderr)")
        #expect(!cli.exists("ran"))
    }

    @Test func aLeaseDeletedBehindItsBackGetsTheCommandSIGTERMAndExits70() async throws {
        try await StoreKind.redis.withLockdProcess { lockd, redis in
            let redis = try #require(redis)
            let cli = try LockdCLI(server: lockd.url)
            let name = uniqueLockName("exec")
            let script = cli.holdUntilGo(traps: "trap \"touch '\(cli.marker("term"))'; exit 0\" TERM;")
            // Renewed every ~330 ms: the deletion is noticed at the next renewal.
            let exec = try cli.start(["exec", name, "--ttl", "1s", "--", "sh", "-c", script])
            let started = await eventually(within: .seconds(10)) { cli.exists("started") }
            #expect(started, "\(exec.stderr)")
            let deleted = try await offThePool { try RedisAdmin(port: redis.port).call("DEL", "lockd:{\(name)}:lease") }
            #expect(deleted == ":1")
            #expect(try await exec.finish() == .exited(70), "\(exec.stderr)")
            #expect(cli.exists("term"), "the command did not get SIGTERM")
            #expect(exec.stderr.contains("lease lost"), "\(exec.stderr)")
        }
    }

    @Test func aCommandThatIgnoresSIGTERMIsKilledAfterKillAfterWhenRenewalsStop() async throws {
        try await StoreKind.memory.withLockdProcess { lockd, _ in
            let cli = try LockdCLI(server: lockd.url)
            let name = uniqueLockName("exec")
            // Marks the SIGTERM and carries on; only SIGKILL ends it.
            let script = cli.holdUntilGo(traps: "trap \"touch '\(cli.marker("term"))'\" TERM;")
            let exec = try cli.start(["exec", name, "--ttl", "1s", "--kill-after", "300ms", "--timeout", "500ms", "--", "sh", "-c", script])
            let started = await eventually(within: .seconds(10)) { cli.exists("started") }
            #expect(started, "\(exec.stderr)")
            // A frozen lockd answers no renewal: the lease runs out on the client's clock.
            lockd.pause()
            defer { lockd.resume() }
            let termination = try await exec.finish()
            lockd.resume()
            #expect(termination == .exited(70), "\(exec.stderr)")
            #expect(cli.exists("term"), "the command did not get SIGTERM first")
            #expect(exec.stderr.contains("SIGKILL"), "\(exec.stderr)")
        }
    }

    @Test(arguments: [SIGTERM, SIGINT, SIGHUP])
    func aSignalToExecReachesTheCommand(signal: Int32) async throws {
        try await StoreKind.memory.withLockdProcess { lockd, _ in
            let cli = try LockdCLI(server: lockd.url)
            let name = uniqueLockName("exec")
            let traps = ["TERM", "INT", "HUP"].map { "trap \"echo \($0) > '\(cli.marker("got"))'; exit 9\" \($0);" }.joined()
            let exec = try cli.start(["exec", name, "--", "sh", "-c", cli.holdUntilGo(traps: traps)])
            let started = await eventually(within: .seconds(10)) { cli.exists("started") }
            #expect(started, "\(exec.stderr)")
            exec.process.send(signal: signal)
            #expect(try await exec.finish() == .exited(9), "\(exec.stderr)")
            let expected = [SIGTERM: "TERM", SIGINT: "INT", SIGHUP: "HUP"][signal]
            #expect(cli.read("got").trimmingCharacters(in: .whitespacesAndNewlines) == expected)
            #expect(try await Self.isHeld(lockd, name) == false)
        }
    }

    /// A command's process group and its parent's (`lockd exec`'s), from /proc.
    static let processGroups = #"echo "$(cut -d' ' -f5 /proc/$$/stat) $$ $(cut -d' ' -f5 /proc/$PPID/stat)" > "$1""#

    @Test func withoutATerminalTheCommandLeadsAProcessGroupOfItsOwn() async throws {
        try await StoreKind.memory.withLockdProcess { lockd, _ in
            let cli = try LockdCLI(server: lockd.url)
            let (termination, run) = try await cli.run(
                ["exec", uniqueLockName("exec"), "--", "sh", "-c", Self.processGroups, "sh", cli.marker("groups")])
            #expect(termination == .exited(0), "\(run.stderr)")
            let groups = cli.read("groups").split(separator: " ").map { String($0).trimmingCharacters(in: .whitespacesAndNewlines) }
            try #require(groups.count == 3, "\(cli.read("groups"))")
            #expect(groups[0] == groups[1], "the command does not lead its own group: \(groups)")
            #expect(groups[0] != groups[2], "the command shares lockd exec's group: \(groups)")
        }
    }

    @Test func inTheForegroundOfATerminalTheCommandStaysInExecsProcessGroup() async throws {
        try await StoreKind.memory.withLockdProcess { lockd, _ in
            let cli = try LockdCLI(server: lockd.url)
            // script(1) runs lockd exec on a new pseudo-terminal, in its foreground.
            let script = cli.marker("groups.sh")
            try Self.processGroups.write(toFile: script, atomically: true, encoding: .utf8)
            let command = "'\(try LockdProcess.binaryPath())' exec \(uniqueLockName("exec")) -- sh '\(script)' '\(cli.marker("groups"))'"
            let process = try ChildProcess(
                executable: "/usr/bin/script", arguments: ["-qec", command, "/dev/null"],
                environment: ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("LOCKD_") }
                    .merging(["LOCKD_SERVER": cli.server]) { $1 },
                diesWithTestProcess: true)
            let termination = try await offThePool { process.waitForExit(timeout: .seconds(20)) }
            #expect(termination == .exited(0))
            let groups = cli.read("groups").split(separator: " ").map { String($0).trimmingCharacters(in: .whitespacesAndNewlines) }
            try #require(groups.count == 3, "\(cli.read("groups"))")
            #expect(groups[0] == groups[2], "the command left lockd exec's group: \(groups)")
        }
    }
}
