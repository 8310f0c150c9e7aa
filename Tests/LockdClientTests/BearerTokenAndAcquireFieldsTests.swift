import Foundation
import HTTPTypes
import LockdClient
import LockdTestSupport
import OpenAPIRuntime
import OpenAPIURLSession
import Synchronization
import Testing

/// `bearerToken:` on every request; `limit:` and `mode:` in the acquire body
/// only when not the default; renew and release by token.
@Suite("Bearer token, limit and mode, renew and release by token")
struct BearerTokenAndAcquireFieldsTests {
    /// Passes every request on to lockd, keeping its headers and body.
    final class Recording: ClientTransport {
        struct Sent: Sendable {
            let operationID: String
            let authorization: String?
            let body: String
        }
        let inner = URLSessionTransport()
        let sent = Mutex<[Sent]>([])

        func send(
            _ request: HTTPRequest, body: HTTPBody?, baseURL: URL, operationID: String
        ) async throws -> (HTTPResponse, HTTPBody?) {
            var bytes: [UInt8] = []
            if let body { bytes = try await [UInt8](collecting: body, upTo: 1 << 20) }
            let record = Sent(operationID: operationID, authorization: request.headerFields[.authorization],
                              body: String(decoding: bytes, as: UTF8.self))
            sent.withLock { $0.append(record) }
            return try await inner.send(request, body: body == nil ? nil : HTTPBody(bytes), baseURL: baseURL, operationID: operationID)
        }
    }

    @Test func everyRequestCarriesTheBearerTokenAndNoneWithout() async throws {
        try await StoreKind.memory.withLockd { lockd in
            let recording = Recording()
            let locks = LockClient(serverURL: lockd.url, transport: recording, timeout: .seconds(10), bearerToken: "s3cret-for-test")
            let name = uniqueLockName()
            let lease = try #require(try await locks.tryAcquire(name, autoRenew: false))
            try await lease.renew()
            _ = try await locks.status(name)
            for try await _ in locks.list(prefix: name) {}
            try await lease.release()
            let sent = recording.sent.withLock { $0 }
            #expect(Set(sent.map(\.operationID)) == ["acquireLock", "renewLock", "getLock", "listLocks", "releaseLock"])
            for request in sent {
                #expect(request.authorization == "Bearer s3cret-for-test", "\(request.operationID)")
            }

            let plain = Recording()
            _ = try await LockClient(serverURL: lockd.url, transport: plain, timeout: .seconds(10)).status(name)
            #expect(plain.sent.withLock { $0.map(\.authorization) } == [nil])
        }
    }

    @Test func limitAndModeAreSentOnlyWhenNotTheDefault() async throws {
        try await StoreKind.memory.withLockd { lockd in
            let recording = Recording()
            let locks = LockClient(serverURL: lockd.url, transport: recording, timeout: .seconds(10))
            let name = uniqueLockName()
            let lease = try #require(try await locks.tryAcquire(name, autoRenew: false))
            try await lease.release()
            let defaultBody = try #require(recording.sent.withLock { $0.first { $0.operationID == "acquireLock" } }).body
            #expect(!defaultBody.contains("limit") && !defaultBody.contains("mode"), "\(defaultBody)")

            let slot = try #require(try await locks.tryAcquire(name, autoRenew: false, limit: 3))
            #expect(slot.limit == 3 && slot.mode == .exclusive)
            try await slot.release()
            let reader = try #require(try await locks.tryAcquire(name, autoRenew: false, mode: .shared))
            #expect(reader.mode == .shared && reader.limit == 1)
            try await reader.release()
            // Compared without white space: how the JSON is laid out is CompactBodyTests' concern.
            let bodies = recording.sent.withLock { $0.filter { $0.operationID == "acquireLock" }.map(\.body) }
                .map { $0.filter { !$0.isWhitespace } }
            #expect(bodies.contains { $0.contains(#""limit":3"#) }, "\(bodies)")
            #expect(bodies.contains { $0.contains(#""mode":"shared""#) }, "\(bodies)")
        }
    }

    /// `durability` goes over the wire on acquire and on the lease's renewals;
    /// a lockd without Redis refuses `replicated` as a bad request, and
    /// `primary` (what it always gives) is accepted.
    @Test func durabilityIsSentAndTheInMemoryStoreRefusesReplicated() async throws {
        try await StoreKind.memory.withLockd { lockd in
            let recording = Recording()
            let locks = LockClient(serverURL: lockd.url, transport: recording, timeout: .seconds(10))
            let name = uniqueLockName()
            await #expect {
                try await locks.acquire(name, wait: .zero, autoRenew: false, durability: .replicated)
            } throws: { error in
                guard case LockError.invalidRequest(let detail) = error else { return false }
                return detail.contains("in memory")
            }
            let lease = try await locks.acquire(name, wait: .zero, autoRenew: false, durability: .primary)
            try await lease.renew()
            await #expect(throws: LockError.self) { try await lease.renew(durability: .replicated) }
            try await lease.release()
            let sent = recording.sent.withLock { $0 }.map { ($0.operationID, $0.body.filter { !$0.isWhitespace }) }
            #expect(sent.filter { $0.0 == "acquireLock" }.map(\.1).contains { $0.contains(#""durability":"primary""#) }, "\(sent)")
            // The lease's renewals ask for what its acquire asked for.
            #expect(sent.filter { $0.0 == "renewLock" }.map(\.1).allSatisfy { $0.contains(#""durability":"#) }, "\(sent)")
        }
    }

    @Test(arguments: StoreKind.allCases)
    func renewAndReleaseByToken(store: StoreKind) async throws {
        try await store.withLockd { lockd in
            let locks = LockClient(serverURL: lockd.url, owner: "by-token", timeout: .seconds(10))
            let name = uniqueLockName()
            let acquired = try #require(try await locks.tryAcquire(name, ttl: .seconds(5), autoRenew: false))
            let renewed = try await locks.renew(name, token: acquired.token, ttl: .seconds(60))
            #expect(renewed.fence == acquired.fence)
            #expect(renewed.token == acquired.token)
            #expect(renewed.owner == "by-token")
            #expect(renewed.ttl == .seconds(60))
            try await locks.release(name, token: acquired.token)
            #expect(try await locks.status(name).isHeld == false)
            let isLeaseLost: @Sendable (any Error) -> Bool = { if case LockError.leaseLost = $0 { true } else { false } }
            await #expect { try await locks.release(name, token: acquired.token) } throws: { isLeaseLost($0) }
            await #expect { _ = try await locks.renew(name, token: acquired.token) } throws: { isLeaseLost($0) }
        }
    }
}
