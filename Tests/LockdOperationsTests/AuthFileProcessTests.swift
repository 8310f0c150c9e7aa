import Foundation
import LockdAuth
import LockdTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `--auth-file` in the real binary: `lockd new-client`'s output works once
/// written into the file, SIGHUP swaps the rules in the same process, bad
/// files stop lockd at start and are ignored on reload, and a trace-level
/// log of a whole run holds no secret, hash or lease token.
@Suite struct AuthFileProcessTests {
    /// An auth file in a directory of its own, removed afterwards.
    final class AuthFileOnDisk: Sendable {
        let directory: String
        var path: String { directory + "/auth.json" }

        init() throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("lockd-auth-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }

        deinit { try? FileManager.default.removeItem(atPath: directory) }

        /// Writes `entries` as the file's clients.
        func write(_ entries: [String]) throws {
            try write(text: #"{"clients": [\#n  \#(entries.joined(separator: ",\n  "))\#n]}"#)
        }

        func write(text: String) throws {
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        }
    }

    static func entry(_ id: String, _ secret: String, names: String = "*", actions: String = #""lock", "read""#) -> String {
        #"{"id": "\#(id)", "sha256": "\#(SHA256Digest(hashing: secret)?.hex ?? "")", "grants": [{"names": "\#(names)", "actions": [\#(actions)]}]}"#
    }

    static func bearer(_ secret: String) -> [String: String] { ["Authorization": "Bearer \(secret)"] }

    @Test func newClientsOutputAuthenticatesOnceInTheFile() async throws {
        let (termination, output) = try await LockdProcess.runToExit(["new-client", "billing-worker", "--grant", "lock,read=billing:*"])
        #expect(termination == .exited(0), "\(output)")
        let lines = output.split(separator: "\n").map(String.init)
        try #require(lines.count == 4, "\(output)")
        let (secret, entry) = (lines[1], lines[3])
        #expect(secret.utf8.count == 43 && !entry.contains(secret))
        let file = try AuthFileOnDisk()
        try file.write([entry])
        let lockd = try await LockdProcess.start(["--auth-file", file.path])
        defer { Task { await lockd.stop() } }
        #expect(try await lockd.request("POST", "/locks/billing:1", body: #"{"ttl_ms": 30000}"#, headers: Self.bearer(secret)).status == 201)
        #expect(try await lockd.request("GET", "/locks/billing:1", headers: Self.bearer(secret)).status == 200)
        #expect(try await lockd.request("POST", "/locks/orders", body: #"{"ttl_ms": 30000}"#, headers: Self.bearer(secret)).status == 403)
        #expect(try await lockd.request("POST", "/locks/billing:2", body: #"{"ttl_ms": 30000}"#).status == 401)

        let (refused, message) = try await LockdProcess.runToExit(["new-client", "billing-worker", "--grant", "write=billing:*"])
        #expect(refused == .exited(64) && message.contains("unknown action 'write'"), "\(message)")
    }

    @Test func sighupSwapsTheRulesAndKeepsThemWhenTheNewFileIsBad() async throws {
        let (first, second) = ("first-\(UUID().uuidString)", "second-\(UUID().uuidString)")
        let file = try AuthFileOnDisk()
        try file.write([Self.entry("first", first)])
        let lockd = try await LockdProcess.start(["--auth-file", file.path])
        defer { Task { await lockd.stop() } }
        #expect(try await lockd.request("GET", "/locks", headers: Self.bearer(first)).status == 200)
        #expect(try await lockd.request("GET", "/locks", headers: Self.bearer(second)).status == 401)

        try file.write([Self.entry("second", second)])
        // Sent again on each try: lockd may answer before its SIGHUP handler runs.
        let swapped = await eventually(within: .seconds(10)) {
            lockd.process.send(signal: SIGHUP)
            return (try? await lockd.request("GET", "/locks", headers: Self.bearer(second)).status) == 200
        }
        #expect(swapped, "\(lockd.output.suffix(2_000))")
        #expect(try await lockd.request("GET", "/locks", headers: Self.bearer(first)).status == 401, "a removed client still works")

        // A bad file: logged, naming the file and the line; the rules in force stay.
        try file.write(text: "{\"clients\": [\n" + Self.entry("third", "x", actions: #""write""#) + "]}")
        lockd.process.send(signal: SIGHUP)
        let reloadRefused = await eventually(within: .seconds(10)) { lockd.output.contains("cannot reload") }
        #expect(reloadRefused, "\(lockd.output.suffix(2_000))")
        let logged = lockd.output
        #expect(logged.contains(file.path) && logged.contains("line 2") && logged.contains("unknown action 'write'"), "\(logged.suffix(2_000))")
        #expect(try await lockd.request("GET", "/locks", headers: Self.bearer(second)).status == 200)
        #expect(lockd.process.isRunning)
    }

    @Test func aBadFileAtStartStopsLockdNamingTheFileAndTheLine() async throws {
        let file = try AuthFileOnDisk()
        let cases: [(text: String?, expected: String)] = [
            ("{\"clients\": [\n" + Self.entry("a", "s", names: "bil*ing") + "]}", "line 2, clients[0].grants[0].names: 'bil*ing' is not a name pattern"),
            ("{\"clients\": [\n\n  {\"id\": \"a\"", "line 3, column 13: not valid JSON"),
            (nil, "cannot read it: No such file or directory"),
        ]
        for (text, expected) in cases {
            if let text { try file.write(text: text) } else { try? FileManager.default.removeItem(atPath: file.path) }
            let (termination, output) = try await LockdProcess.runToExit(["--auth-file", file.path, "--listen", "127.0.0.1:0"])
            #expect(termination == .exited(64), "\(output)")
            #expect(output.contains("--auth-file / LOCKD_AUTH_FILE: auth file \(file.path): \(expected)"), "\(output)")
        }
        let (termination, output) = try await LockdProcess.runToExit(["--listen", "127.0.0.1:0"], environment: ["LOCKD_AUTH_FILE": ""])
        #expect(termination == .exited(64) && output.contains("LOCKD_AUTH_FILE is set but empty"), "\(output)")
    }

    /// Every route, allowed and refused, with the Redis store, logged at
    /// trace with the access log on: no secret, hash or lease token in the
    /// log or in /metrics.
    @Test func aTraceLogOfAFullRunHoldsNoSecret() async throws {
        let (writer, reader, guess) = ("writer-\(UUID().uuidString)", "reader-\(UUID().uuidString)", "guess-\(UUID().uuidString)")
        let oncall = "oncall-\(UUID().uuidString)"
        let file = try AuthFileOnDisk()
        try file.write([Self.entry("writer", writer, names: "jobs:*", actions: #""lock""#), Self.entry("reader", reader, actions: #""read""#),
                        Self.entry("oncall", oncall, names: "jobs:*", actions: #""admin""#)])
        var secrets = [writer, reader, guess, oncall]
        secrets += secrets.compactMap { SHA256Digest(hashing: $0)?.hex }
        try await StoreKind.redis.withLockdProcess(arguments: ["--auth-file", file.path, "--log-level", "trace", "--access-log"]) { lockd, _ in
            let w = Self.bearer(writer)
            let acquired = try await lockd.request("POST", "/locks/jobs:1", body: #"{"ttl_ms": 30000}"#, headers: w)
            #expect(acquired.status == 201)
            let token = try #require(acquired.json["token"] as? String)
            secrets.append(token)
            let withToken = w.merging(["Lock-Token": token]) { $1 }
            #expect(try await lockd.request("POST", "/locks/jobs:1/renew", body: #"{"ttl_ms": 30000}"#, headers: withToken).status == 200)
            #expect(try await lockd.request("GET", "/locks/jobs:1", headers: Self.bearer(reader)).status == 200)
            #expect(try await lockd.request("GET", "/locks?prefix=jobs", headers: Self.bearer(reader)).status == 200)
            #expect(try await lockd.request("GET", "/locks/jobs:1", headers: w).status == 403)
            #expect(try await lockd.request("POST", "/locks/other", body: #"{"ttl_ms": 30000}"#, headers: w).status == 403)
            #expect(try await lockd.request("DELETE", "/locks/jobs:1", headers: Self.bearer(reader).merging(["Lock-Token": token]) { $1 }).status == 403)
            #expect(try await lockd.request("GET", "/locks", headers: Self.bearer(guess)).status == 401)
            #expect(try await lockd.request("DELETE", "/locks/jobs:1", headers: withToken).status == 204)
            // A force-release is logged at notice, naming the client and the fence.
            let stuck = try await lockd.request("POST", "/locks/jobs:2", body: #"{"ttl_ms": 30000}"#, headers: w)
            secrets.append(try #require(stuck.json["token"] as? String))
            let fence = try #require(stuck.json["fence"] as? Int)
            #expect(try await lockd.request("DELETE", "/locks/jobs:2?fence=\(fence)", headers: Self.bearer(oncall)).status == 204)
            let metrics = try await lockd.request("GET", "/metrics", headers: Self.bearer(reader))
            #expect(metrics.status == 200)
            // The last request's access-log line is out before the scan.
            let metricsLogged = await eventually(within: .seconds(5)) { lockd.output.contains("/metrics") || lockd.output.contains("metrics") }
            #expect(metricsLogged)
            let log = lockd.output
            #expect(log.contains("forbidden") && log.contains("writer"), "\(log.suffix(2_000))")
            let notice = log.split(separator: "\n").first { $0.contains("lease force-released") }
            #expect(notice.map { $0.contains("notice") && $0.contains("oncall") && $0.contains("\(fence)") } == true, "\(log.suffix(2_000))")
            for secret in secrets {
                #expect(!log.contains(secret), "the log holds a secret, hash or lease token")
                #expect(!metrics.response.text.contains(secret), "/metrics holds a secret, hash or lease token")
            }
        }
    }
}
