import Foundation
import LockdClient
import LockdTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// What SDK tests need of a lockd child process.
extension LockdProcess {
    /// A client of this lockd (and of any lockd restarted on its port).
    func client(owner: String? = "sdk-test", timeout: Duration = .seconds(10)) -> LockClient {
        LockClient(serverURL: url, owner: owner, timeout: timeout)
    }

    /// Acquires waiting in this lockd now: its `lockd_waiters` gauge.
    func waiters() async throws -> Int {
        let metrics = try await request("GET", "/metrics")
        for line in metrics.text.split(separator: "\n") where line.hasPrefix("lockd_waiters ") {
            if let value = line.split(separator: " ").last.flatMap({ Double($0) }) { return Int(value) }
        }
        throw TestFailure("no lockd_waiters in /metrics: \(metrics.text.prefix(500))")
    }

    /// Acquires this lockd has answered with `outcome` (`lockd_acquires_total`:
    /// `granted`, `timed_out`, …).
    func acquires(_ outcome: String) async throws -> Int {
        let metrics = MetricsScrape(try await request("GET", "/metrics").text)
        return Int(metrics.value("lockd_acquires_total", ["outcome": outcome]) ?? 0)
    }

    /// Stops this lockd the way a deploy does (SIGTERM: waiters are answered 503,
    /// in-flight requests finish) and starts a new one on the same port.
    /// - Parameter arguments: the new lockd's arguments (its store, its limits).
    /// - Returns: the new lockd, and how long the port was without one.
    func restart(_ arguments: [String]) async throws -> (lockd: LockdProcess, outage: Duration) {
        let stoppedAt = ContinuousClock.now
        await offThePool { [process] in process.terminate(with: SIGTERM) }
        let next = try await LockdProcess.start(arguments, listen: "\(host):\(port)")
        return (next, ContinuousClock.now - stoppedAt)
    }
}

extension RedisServerFixture {
    /// lockd's arguments for this server, plus `more`.
    func lockdArguments(_ more: [String] = []) -> [String] {
        ["--redis", url] + more
    }
}
