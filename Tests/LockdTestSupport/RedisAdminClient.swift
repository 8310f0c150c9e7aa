import LockdRedis

#if canImport(Glibc)
import Glibc
#endif

/// A blocking RESP2 connection for fixtures and tests: what the client under
/// test must not be asked to do — set a cluster up, ask a sentinel, move a
/// slot, look at a node's role. Call it off Swift concurrency's pool
/// (``offThePool(_:)``) or from fixture set-up.
///
/// ```swift
/// let node = try RedisAdminClient(port: 7001)
/// let role = try node.call("ROLE").array?.first?.string   // "master"
/// ```
public final class RedisAdminClient {
    private let connection: RawHTTPClient
    private var buffer: [UInt8] = []

    /// Connects to `127.0.0.1:port`.
    /// - Throws: when nothing listens there.
    public init(port: UInt16) throws {
        connection = try RawHTTPClient(port: port)
    }

    /// Sends a command and returns its reply (an error reply is returned, not thrown).
    /// - Throws: ``RedisServerFixtureError`` when no whole reply arrives within `timeout`.
    public func call(_ arguments: [String], timeout: Duration = .seconds(5)) throws -> RESPValue {
        var bytes: [UInt8] = []
        RESPEncoder.encodeCommand(arguments.map(RESPBulk.string), into: &bytes)
        try connection.send(bytes)
        let deadline = ContinuousClock.now + timeout
        while true {
            if let (value, consumed) = try RESPDecoder().decode(buffer) {
                buffer.removeFirst(consumed)
                return value
            }
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else { throw RedisServerFixtureError("no reply to \(arguments.first ?? "") within \(timeout)") }
            var poller = pollfd(fd: connection.fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, Int32(clamping: remaining.components.seconds * 1000 + 1)) == 1 else { continue }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let count = chunk.withUnsafeMutableBytes { recv(connection.fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { throw RedisServerFixtureError("the connection closed while waiting for a reply to \(arguments.first ?? "")") }
            buffer.append(contentsOf: chunk[..<count])
        }
    }

    /// ``call(_:timeout:)`` with the arguments listed.
    public func call(_ arguments: String...) throws -> RESPValue {
        try call(arguments)
    }

    /// Sends a command on a new connection to `port`; nil when the node
    /// cannot be reached or does not answer in time.
    public static func call(port: UInt16, _ arguments: String..., timeout: Duration = .seconds(2)) -> RESPValue? {
        try? RedisAdminClient(port: port).call(arguments, timeout: timeout)
    }

    /// The `field:value` lines of an `INFO` or `CLUSTER INFO` reply as a dictionary.
    public static func fields(_ info: RESPValue?) -> [String: String] {
        var fields: [String: String] = [:]
        for line in (info?.string ?? "").split(whereSeparator: \.isNewline) {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[String(line[..<colon])] = String(line[line.index(after: colon)...])
        }
        return fields
    }
}
