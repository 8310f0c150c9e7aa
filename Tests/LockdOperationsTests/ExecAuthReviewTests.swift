import Foundation
import LockdTestSupport
import Testing

/// review4: `lockd exec` whose bearer token lockd refuses (401) or which
/// lacks the `lock` grant (403) exits 77, as `lockd acquire` and every other
/// client subcommand do — not 69, which tells a script "lockd could not be
/// reached" (try again later) about a lockd that answered and refused.
@Suite struct ExecAuthReviewTests {
    @Test func aRefusedOrUngrantedTokenExits77AndTheCommandNeverRuns() async throws {
        let secret = "reader-\(UUID().uuidString)"
        let file = try AuthFileProcessTests.AuthFileOnDisk()
        try file.write([AuthFileProcessTests.entry("reader", secret, actions: #""read""#)])
        let lockd = try await LockdProcess.start(["--auth-file", file.path])
        defer { Task { await lockd.stop() } }
        let cli = try LockdCLI(server: lockd.url)
        let name = uniqueLockName("exec")

        // For comparison: what lockd acquire answers to the same token.
        let (acquire, acquireRun) = try await cli.run(["acquire", name], environment: ["LOCKD_AUTH_TOKEN": secret])
        #expect(acquire == .exited(77), "\(acquireRun.stderr)")

        let cases: [(environment: [String: String], said: String)] = [([:], "unauthorized"), (["LOCKD_AUTH_TOKEN": secret], "forbidden")]
        for (environment, said) in cases {
            let marker = cli.marker("ran-\(said)")
            let (termination, run) = try await cli.run(
                ["exec", name, "--wait", "0", "--", "sh", "-c", "touch '\(marker)'"], environment: environment)
            #expect(termination == .exited(77), "\(said): \(run.stderr)")
            #expect(run.stderr.contains(said), "\(run.stderr)")
            #expect(!cli.exists("ran-\(said)"), "the command ran without the lock")
        }
    }
}
