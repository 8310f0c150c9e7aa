import LockdTestSupport
import LockEngine

/// Pipelined in-memory acquires written raw, and what became of each name:
/// shared by the tests that check a name is held exactly when its 201
/// reached the client.
enum PipelinedAcquires {
    /// One POST per name, back to back (60 s leases).
    static func requests(_ names: [String]) -> String {
        names.map { name in
            let body = #"{"ttl_ms":60000}"#
            return "POST /locks/\(name) HTTP/1.1\r\nHost: lockd\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body
        }.joined()
    }

    /// The names whose 201 is in `bytes` (the lease body names it).
    static func granted(in bytes: [UInt8], among names: [String]) -> Set<String> {
        let text = String(decoding: bytes, as: UTF8.self)
        let answers = text.components(separatedBy: "HTTP/1.1 ").dropFirst()
        return Set(names.filter { name in answers.contains { $0.hasPrefix("201") && $0.contains(#""name":"\#(name)""#) } })
    }

    /// The names `lockd` holds now.
    static func held(_ lockd: TestLockd, _ names: [String]) async throws -> Set<String> {
        var held: Set<String> = []
        for name in names where try await lockd.engine.status(of: try LockName(name)).isHeld { held.insert(name) }
        return held
    }
}
