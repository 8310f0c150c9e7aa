import Foundation
import LockdTestSupport
import Testing

/// `lockd acquire|renew|release|status|list`: JSON for scripts, the exit
/// codes they branch on, and clear messages for what cannot work.
@Suite struct ClientCommandTests {
    @Test(arguments: StoreKind.allCases)
    func aLeaseRoundTripsThroughTheJSONSubcommands(store: StoreKind) async throws {
        try await store.withLockdProcess { lockd, _ in
            let cli = try LockdCLI(server: lockd.url)
            let name = uniqueLockName("cli")
            let (acquired, acquire) = try await cli.run(["acquire", name, "--ttl", "5s", "--owner", "script-1"])
            #expect(acquired == .exited(0), "\(acquire.stderr)")
            let lease = acquire.json
            let token = try #require(lease["token"] as? String, "\(acquire.stdout)")
            let fence = try #require(lease["fence"] as? Int64)
            #expect(lease["name"] as? String == name)
            #expect(lease["ttl_ms"] as? Int == 5_000)
            #expect(lease["owner"] as? String == "script-1")
            #expect((lease["expires_at"] as? String)?.hasSuffix("Z") == true)

            let (held, again) = try await cli.run(["acquire", name])
            #expect(held == .exited(75), "\(again.stderr)")
            #expect(again.stdout.isEmpty)

            let (statusEnd, status) = try await cli.run(["status", name])
            #expect(statusEnd == .exited(0))
            #expect(status.json["held"] as? Bool == true)
            let holder = try #require((status.json["holders"] as? [[String: Any]])?.first)
            #expect(holder["fence"] as? Int64 == fence)
            #expect(holder["owner"] as? String == "script-1")
            #expect(!status.stdout.contains(token), "status printed the token")
            let (checkEnd, check) = try await cli.run(["status", name, "--fence", String(fence)])
            #expect(checkEnd == .exited(0), "\(check.stderr)")
            #expect(check.json["fence"] as? Int64 == fence)
            #expect(check.json["owner"] as? String == "script-1")
            #expect(!check.stdout.contains(token), "status --fence printed the token")

            let (listEnd, list) = try await cli.run(["list", "--prefix", name])
            #expect(listEnd == .exited(0))
            #expect((list.json["locks"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == [name])

            let (renewed, renew) = try await cli.run(["renew", name, "--lock-token", token, "--ttl", "1m"])
            #expect(renewed == .exited(0), "\(renew.stderr)")
            #expect(renew.json["fence"] as? Int64 == fence)
            #expect(renew.json["token"] as? String == token)
            #expect(renew.json["ttl_ms"] as? Int == 60_000)

            let (released, release) = try await cli.run(["release", name, "--lock-token", token])
            #expect(released == .exited(0), "\(release.stderr)")
            #expect(release.json["released"] as? Bool == true)
            let (_, free) = try await cli.run(["status", name])
            #expect(free.json["held"] as? Bool == false)

            // The token holds nothing any more: 70, as for a lease lost under exec.
            let (gone, goneRun) = try await cli.run(["release", name, "--lock-token", token])
            #expect(gone == .exited(70))
            #expect(goneRun.stderr.contains("lease lost"))
            let (lost, _) = try await cli.run(["renew", name, "--lock-token", token])
            #expect(lost == .exited(70))

            // Force-release by fence: the next holder's lease ends; a fence no
            // live lease has is 70 too.
            let (_, next) = try await cli.run(["acquire", name, "--ttl", "1m"])
            let nextFence = try #require(next.json["fence"] as? Int64, "\(next.stdout)")
            let (forced, force) = try await cli.run(["release", name, "--fence", String(nextFence)])
            #expect(forced == .exited(0), "\(force.stderr)")
            #expect(force.json["released"] as? Bool == true)
            let (_, freed) = try await cli.run(["status", name])
            #expect(freed.json["held"] as? Bool == false)
            let (notHeld, notHeldRun) = try await cli.run(["release", name, "--fence", String(nextFence)])
            #expect(notHeld == .exited(70))
            #expect(notHeldRun.stderr.contains("not held"), "\(notHeldRun.stderr)")
            let (stale, staleRun) = try await cli.run(["status", name, "--fence", String(fence)])
            #expect(stale == .exited(70))
            #expect(staleRun.stdout.isEmpty)
            #expect(staleRun.stderr.contains("not held"), "\(staleRun.stderr)")
        }
    }

    @Test func aSemaphoreSlotAndAnotherLimitThroughTheCLI() async throws {
        try await StoreKind.memory.withLockdProcess { lockd, _ in
            let cli = try LockdCLI(server: lockd.url)
            let name = uniqueLockName("cli")
            let (acquired, acquire) = try await cli.run(["acquire", name, "--limit", "3"])
            #expect(acquired == .exited(0), "\(acquire.stderr)")
            #expect(acquire.json["limit"] as? Int == 3)
            #expect(acquire.json["mode"] as? String == "exclusive")
            let (second, _) = try await cli.run(["acquire", name, "--limit", "3"])
            #expect(second == .exited(0))
            // status prints what the API answers: mode, limit, waiting, each holder's mode.
            let (_, status) = try await cli.run(["status", name])
            #expect(status.json["limit"] as? Int == 3)
            #expect(status.json["mode"] as? String == "exclusive")
            #expect(status.json["waiting"] as? Int == 0)
            #expect((status.json["holders"] as? [[String: Any]])?.compactMap { $0["mode"] as? String } == ["exclusive", "exclusive"])
            let (mismatch, run) = try await cli.run(["acquire", name, "--limit", "2"])
            #expect(mismatch == .exited(75), "\(run.stderr)")
            #expect(run.stderr.contains("--limit 3"), "\(run.stderr)")
            let (reader, readerRun) = try await cli.run(["exec", uniqueLockName("cli"), "--shared", "--", "true"])
            #expect(reader == .exited(0), "\(readerRun.stderr)")
            let (_, shared) = try await cli.run(["acquire", uniqueLockName("cli"), "--shared"])
            #expect(shared.json["mode"] as? String == "shared", "\(shared.stdout)")
        }
    }

    @Test func aLockDelayThroughTheCLIKeepsTheNameAfterTheLeaseExpires() async throws {
        try await StoreKind.memory.withLockdProcess { lockd, _ in
            let cli = try LockdCLI(server: lockd.url)
            let name = uniqueLockName("cli")
            let (acquired, acquire) = try await cli.run(["acquire", name, "--ttl", "200ms", "--lock-delay", "60s"])
            #expect(acquired == .exited(0), "\(acquire.stderr)")
            var status: [String: Any] = [:]
            let expired = try await eventually(within: .seconds(10)) {
                status = try await cli.run(["status", name]).1.json
                return status["held"] as? Bool == false
            }
            #expect(expired)
            #expect(status["delayed_until"] is String, "\(status)")
            let (refused, run) = try await cli.run(["acquire", name])
            #expect(refused == .exited(75), "\(run.stderr)")
        }
    }

    @Test func whatCannotWorkGetsAClearMessageAndExit64() async throws {
        try await StoreKind.memory.withLockdProcess { lockd, _ in
            let cli = try LockdCLI(server: lockd.url)
            let name = uniqueLockName("cli")
            let cases: [(arguments: [String], says: String)] = [
                (["acquire", name, "--ttl", "30"], "500ms, 30s, 5m"),
                (["acquire", name, "--wait", "1.5s"], "not a duration"),
                (["exec", name], "after --"),
                (["exec", name, "--limit", "0", "--", "true"], "--limit"),
                (["acquire", name, "--lock-delay", "61s"], "--lock-delay"),
                (["status", name, "--server", "ftp://example"], "http:// or https://"),
                (["renew", name], "--lock-token"),
                (["release", name], "exactly one of --lock-token"),
                (["release", name, "--lock-token", "t0123456789012345678901", "--fence", "3"], "exactly one of --lock-token"),
                (["status", "bad/name"], "may contain only"),
            ]
            for (arguments, says) in cases {
                let (termination, run) = try await cli.run(arguments)
                #expect(termination == .exited(64), "\(arguments): \(run.stderr)")
                #expect(run.stderr.contains(says), "\(arguments): \(run.stderr)")
            }
        }
    }

    @Test func everySubcommandHasHelpWithAnExample() async throws {
        let cli = try LockdCLI(server: try #require(URL(string: "http://127.0.0.1:9")))
        for subcommand in ["exec", "acquire", "renew", "release", "status", "list"] {
            let (termination, run) = try await cli.run([subcommand, "--help"])
            #expect(termination == .exited(0))
            #expect(run.stdout.contains("Example"), "\(subcommand) --help: \(run.stdout)")
            #expect(run.stdout.contains("lockd \(subcommand)"), "\(subcommand) --help shows no example call")
        }
        let (termination, run) = try await cli.run(["status", "orders", "--timeout", "300ms"])
        #expect(termination == .exited(69), "\(run.stderr)")
    }

    @Test func speaksHTTPSAndRefusesACertificateTheSystemDoesNotTrust() async throws {
        // Signed by the tests' own CA, which the system's store (URLSession's only
        // trust on Linux) does not hold: the client must refuse it, saying why.
        let certificates = try TestCertificates.shared()
        let lockd = try await LockdProcess.start(
            ["--tls-cert-file", certificates.serverCertificateFile, "--tls-key-file", certificates.serverKeyFile])
        let server = try #require(URL(string: "https://\(lockd.host):\(lockd.port)"))
        let cli = try LockdCLI(server: server)
        // An untrusted certificate is retried until --timeout like any transport failure; the
        // timeout leaves room for a first handshake on a busy machine, so that a cause is there to report.
        let (termination, run) = try await cli.run(["status", uniqueLockName("cli"), "--timeout", "2s"])
        await lockd.stop()
        #expect(termination == .exited(69), "\(run.stderr)")
        #expect(run.stderr.lowercased().contains("certificate"), "\(run.stderr)")
    }
}
