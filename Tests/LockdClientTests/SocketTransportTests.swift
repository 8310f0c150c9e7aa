import Foundation
import LockdClient
import LockdTransport
import LockdTestSupport
import Testing

/// ``SocketTransport``, the SDK's own HTTP/1.1 transport: https with a private
/// CA, failures to reach lockd surfaced as the ``TransportFailure``s the SDK's
/// retry rules know, and the call's deadline kept by the transport.
@Suite struct SocketTransportTests {
    @Test func privateCAOverHTTPS() async throws {
        let certificates = try TestCertificates.shared()
        try await HTTPSTests.tlsLockd { lockd in
            let transport = try SocketTransport(caFile: certificates.caFile)
            let locks = LockClient(serverURL: lockd.url, transport: transport, owner: "socket-transport", timeout: .seconds(10))
            let name = uniqueLockName()
            let lease = try #require(try await locks.tryAcquire(name, ttl: .seconds(30)))
            try await lease.renew(ttl: .seconds(60))
            #expect(try await locks.status(name).holders.map(\.fence) == [lease.fence])
            try await lease.release()
            let fence = try await locks.withLock(name, ttl: .seconds(30)) { $0.fence }
            #expect(fence > lease.fence)

            // The system's CAs do not include the test CA, nor does another private one:
            // a certificate failure is not retried (it would fail the same way until the timeout).
            for untrusting in [SocketTransport(), try SocketTransport(caFile: certificates.otherCAFile)] {
                let client = LockClient(serverURL: lockd.url, transport: untrusting, timeout: .seconds(60))
                let started = ContinuousClock.now
                let error = await #expect(throws: LockError.self) { _ = try await client.status(name) }
                guard case .transport(let underlying) = error else { Issue.record("not a transport error: \(String(describing: error))"); continue }
                #expect((underlying as? TransportFailure)?.kind == .tls)
                #expect(ContinuousClock.now - started < .seconds(30))
            }
        }
    }

    @Test func aCAFileThatCannotBeReadIsRefusedAtOnce() {
        let error = #expect(throws: TransportFailure.self) { _ = try SocketTransport(caFile: "/nonexistent/ca.pem") }
        #expect(error?.kind == .tls)
    }

    @Test func aServerThatIsGoneIsRetriedThenReportedAsCannotConnect() async throws {
        // lockd's URL once it has stopped: nothing listens there.
        let url = try await StoreKind.memory.withLockd { lockd in
            // While it runs, many requests reuse the pool's keep-alive connections.
            let locks = LockClient(serverURL: lockd.url, transport: SocketTransport(maxIdleConnectionsPerHost: 2), timeout: .seconds(10))
            for _ in 0..<20 { _ = try await locks.status(uniqueLockName()) }
            return lockd.url
        }
        let locks = LockClient(serverURL: url, transport: SocketTransport(), timeout: .milliseconds(700))
        let error = await #expect(throws: LockError.self) { _ = try await locks.status("gone") }
        guard case .transport(let underlying) = error else { Issue.record("not a transport error: \(String(describing: error))"); return }
        #expect((underlying as? TransportFailure)?.kind == .cannotConnect)
    }

    @Test func aServerThatNeverAnswersFailsTheCallAtItsTimeout() async throws {
        // The kernel accepts connections into the backlog; nobody reads or answers.
        let listener = try Socket.listen(on: SocketAddress(parsing: "127.0.0.1:0"))
        defer { listener.close() }
        let url = try #require(URL(string: "http://127.0.0.1:\(try listener.localAddress().port)"))
        let locks = LockClient(serverURL: url, transport: SocketTransport(), timeout: .milliseconds(500))
        let started = ContinuousClock.now
        let error = await #expect(throws: LockError.self) { _ = try await locks.status("silent") }
        guard case .transport(let underlying) = error else { Issue.record("not a transport error: \(String(describing: error))"); return }
        #expect((underlying as? TransportFailure)?.kind == .timedOut)
        #expect(ContinuousClock.now - started < .seconds(20))
    }

    @Test func idleConnectionsTheServerClosesAreReplaced() async throws {
        // lockd closes connections idle for 100 ms; whether the pool has
        // noticed a close yet or not, the next request must get through.
        try await StoreKind.memory.withLockd(configure: { $0.http.idleTimeout = .milliseconds(100) }) { lockd in
            let locks = LockClient(serverURL: lockd.url, transport: SocketTransport(), timeout: .seconds(10))
            let name = uniqueLockName()
            for pause in [0, 50, 100, 150, 200, 300] {
                #expect(try await locks.status(name).isHeld == false)
                try await Task.sleep(for: .milliseconds(pause))
            }
        }
    }
}
