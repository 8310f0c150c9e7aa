import Foundation
import LockdAPI
import LockdClient
import LockdTestSupport
import OpenAPIRuntime
import OpenAPIURLSession
import Logging
import Testing

/// What SDK tests need of a lockd beyond LockdTestSupport's.
extension TestLockd {
    /// A client of this lockd.
    func client(owner: String? = "sdk-test") -> LockClient {
        LockClient(serverURL: url, owner: owner, timeout: .seconds(10))
    }

    /// The generated client, for going behind a `LockClient`'s back.
    var generated: Client {
        Client(serverURL: url, configuration: .init(dateTranscoder: .iso8601WithFractionalSeconds), transport: URLSessionTransport())
    }

    /// Releases the lease `token` holds without its `Lease` knowing, as another
    /// process holding a leaked token, or an operator, might.
    func releaseBehindTheBack(_ name: String, token: String) async throws {
        let output = try await generated.releaseLock(path: .init(name: name), headers: .init(lockToken: token))
        guard case .noContent = output else { throw TestFailure("release behind the back: \(output)") }
    }

    /// Deletes the lease from the store itself — the Redis key, or for the
    /// in-memory store a release by token — as an operator or a failover might.
    func deleteLease(_ name: String, token: String) async throws {
        guard let redis else { return try await releaseBehindTheBack(name, token: token) }
        // ChildProcess, not Foundation's Process: the latter stalls or crashes
        // the test process when many tests run at once.
        let outputPath = NSTemporaryDirectory() + "redis-cli-\(UUID().uuidString).out"
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        let reply = try await offThePool {
            let cli = try ChildProcess(executable: "/usr/bin/env", arguments: ["redis-cli", "-p", "\(redis.port)", "DEL", "lockd:{\(name)}:lease"],
                                       outputPath: outputPath)
            _ = cli.waitForExit(timeout: .seconds(10))
            return (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        }
        guard reply.trimmingCharacters(in: .whitespacesAndNewlines) == "1" else {
            throw TestFailure("DEL of the lease key answered \(reply)")
        }
    }
}
