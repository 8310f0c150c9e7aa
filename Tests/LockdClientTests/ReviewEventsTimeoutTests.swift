import Foundation
import Synchronization
import LockdClient
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Review finding (branch review): `LockClient.events(prefix:)` opens its
/// stream without any deadline (SocketTransport's `stream` ignores
/// `RequestDeadline`), so a server that accepts the connection and never
/// answers — a frozen lockd, a black-holed address — holds the first open
/// forever, although the sequence promises to throw after the client's
/// timeout; a reopen after a fault hangs the same way, and an open stream
/// that goes silent (no keep-alive for many intervals) is never reopened.
@Suite struct ReviewEventsTimeoutTests {
    @Test func theFirstOpenIsBoundByTheClientsTimeout() async throws {
        let hole = try BlackHole()
        defer { hole.close() }
        let locks = LockClient(serverURL: URL(string: "http://127.0.0.1:\(hole.port)")!, timeout: .seconds(1))
        let outcome = Mutex<String?>(nil)
        let reader = Task {
            do {
                for try await _ in locks.events(prefix: "review:") { break }
                outcome.withLock { $0 = "ended" }
            } catch {
                outcome.withLock { $0 = "threw \(error)" }
            }
        }
        defer { reader.cancel() }
        // Bounded at 8× the client's timeout: a promise of 1 s.
        let deadline = ContinuousClock.now + .seconds(8)
        while outcome.withLock({ $0 }) == nil, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        let result = outcome.withLock { $0 }
        #expect(result?.hasPrefix("threw") == true, "events(prefix:) did not throw within 8 s of a 1 s timeout: \(result ?? "still opening")")
        // Cancelling the reading task ends it promptly, however it stands.
        reader.cancel()
        let cancelDeadline = ContinuousClock.now + .seconds(5)
        while outcome.withLock({ $0 }) == nil, ContinuousClock.now < cancelDeadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(outcome.withLock { $0 } != nil, "cancelling the reading task did not end the sequence within 5 s")
    }
}

/// A loopback port that completes TCP handshakes (the kernel's backlog)
/// but never accepts, reads or answers.
private final class BlackHole: Sendable {
    let fd: Int32
    let port: UInt16

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else { throw CancellationError() }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        port = UInt16(bigEndian: address.sin_port)
    }

    func close() { _ = Glibc.close(fd) }
}
