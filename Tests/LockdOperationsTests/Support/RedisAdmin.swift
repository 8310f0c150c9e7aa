import LockdTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// A bare connection to the test's redis-server for what lockd must not be
/// asked to do: stall it (`DEBUG SLEEP`, `CLIENT PAUSE`) and look at its keys.
/// Blocking; call it through ``offThePool(_:)``.
final class RedisAdmin {
    private let client: RawHTTPClient

    /// Connects to `127.0.0.1:port`.
    init(port: UInt16) throws {
        client = try RawHTTPClient(port: port)
    }

    /// Sends a command without waiting for its reply (`DEBUG SLEEP` answers
    /// only when the sleep is over).
    func send(_ arguments: String...) throws {
        try send(arguments)
    }

    /// Sends a command and returns the first line of its reply (`+OK`,
    /// `:3`, `-ERR …`), or nil when none arrives within `timeout`.
    func call(_ arguments: String..., timeout: Duration = .seconds(2)) throws -> String? {
        try send(arguments)
        return readLine(timeout: timeout)
    }

    private func send(_ arguments: [String]) throws {
        var command = "*\(arguments.count)\r\n"
        for argument in arguments { command += "$\(argument.utf8.count)\r\n\(argument)\r\n" }
        try client.send(command)
    }

    private func readLine(timeout: Duration) -> String? {
        let deadline = ContinuousClock.now + timeout
        var line: [UInt8] = []
        while ContinuousClock.now < deadline {
            var poller = pollfd(fd: client.fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 10) == 1 else { continue }
            var byte: UInt8 = 0
            guard recv(client.fd, &byte, 1, 0) == 1 else { return nil }
            if byte == 10, line.last == 13 { return String(decoding: line.dropLast(), as: UTF8.self) }
            line.append(byte)
        }
        return nil
    }
}

extension RedisServerFixture {
    /// Whether the server answers `PING` within `timeout` (on a new connection).
    func answersPing(within timeout: Duration) -> Bool {
        (try? RedisAdmin(port: port).call("PING", timeout: timeout)) == "+PONG"
    }

    /// How many waiters are queued for `name` (lockd's key layout).
    func queuedWaiters(_ name: String) -> Int {
        guard let reply = try? RedisAdmin(port: port).call("ZCARD", "lockd:{\(name)}:waiters") else { return 0 }
        return Int(reply.dropFirst()) ?? 0
    }
}
