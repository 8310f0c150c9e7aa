@testable import LockEngine
import LockdTestSupport
import LockdTransport
import Logging
import Testing

/// The engine's at-once acquire on the in-memory store hands the store its
/// request where it is (`RequestAttempt`), not an `AcquireAttempt` made of
/// it: the store must read the same terms either way. Each request is
/// taken through the engine on one store and as the attempt the engine
/// made before on another, and both stores must then say the same.
@Suite struct RequestAttemptTests {
    /// Requests that set each term the store reads: owner, client, mode,
    /// limit, TTL, lock delay, the client's own token.
    private static func requests(on name: LockName) throws -> [AcquireRequest] {
        [
            AcquireRequest(name: name, ttlMs: 5_000),
            AcquireRequest(name: name, ttlMs: 7_000, owner: "billing-7", client: "svc-a"),
            AcquireRequest(name: name, ttlMs: 6_000, owner: "reader", mode: .shared, client: "svc-b"),
            AcquireRequest(name: name, ttlMs: 4_000, owner: "permit", limit: 3, client: "svc-c"),
            AcquireRequest(name: name, ttlMs: 3_000, owner: "delayed", lockDelayMs: 20_000),
            AcquireRequest(name: name, ttlMs: 8_000, owner: "own-token", token: try LeaseToken("client-chosen-token-0123456789")),
        ]
    }

    /// What `LockEngine`'s first attempt of `request` was: the same terms,
    /// a fresh token unless it brought one (then a nonce).
    private static func attempt(of request: AcquireRequest) -> AcquireAttempt {
        AcquireAttempt(name: request.name, token: request.token ?? LeaseToken.random(), ttlMs: request.ttlMs, owner: request.owner,
                       waiter: nil, mode: request.mode, limit: request.limit, client: request.client,
                       durability: request.durability ?? .primary, lockDelayMs: request.lockDelayMs,
                       nonce: request.token == nil ? nil : AttemptNonce.random())
    }

    @Test func theRequestReadWhereItIsGrantsWhatItsAttemptGranted() async throws {
        let loops = try EventLoopGroup(loopCount: 1, namePrefix: "request-attempt")
        defer { loops.shutdown() }
        let viaEngine = InMemoryLockStore()
        let viaAttempt = InMemoryLockStore()
        let engine = LockEngine(store: viaEngine, loops: loops, logger: Logger(label: "test"))
        for (index, request) in try Self.requests(on: LockName("request-attempt-\(UInt64.random(in: 0 ... .max))")).enumerated() {
            let name = try LockName("\(request.name.value)-\(index)")
            var request = request
            request.name = name
            let grant = try #require(try engine.acquireAtOnce(request))
            guard case .granted(let lease, let isRetry, _) = try viaAttempt.acquireAtOnce(Self.attempt(of: request)) else {
                Issue.record("the attempt was not granted: \(request)")
                continue
            }
            #expect(!grant.isRetry && !isRetry)
            #expect(grant.lockdMadeToken == (request.token == nil))
            #expect(grant.lease.name == lease.name)
            #expect(grant.lease.ttlMs == lease.ttlMs)
            #expect(grant.lease.owner == lease.owner)
            #expect(grant.lease.mode == lease.mode)
            #expect(grant.lease.limit == lease.limit)
            if let token = request.token { #expect(grant.lease.token == token && lease.token == token) }
            let fromEngine = try await viaEngine.status(of: name)
            let fromAttempt = try await viaAttempt.status(of: name)
            #expect(fromEngine.holders.map(\.owner) == fromAttempt.holders.map(\.owner))
            #expect(fromEngine.holders.map(\.client) == fromAttempt.holders.map(\.client))
            #expect(fromEngine.holders.map(\.mode) == fromAttempt.holders.map(\.mode))
            #expect(fromEngine.limit == fromAttempt.limit)
            // The lock delay: forced out, the slot stays taken on both.
            try await engine.forceRelease(name, fence: grant.lease.fence)
            _ = try await viaAttempt.forceRelease(name, fence: lease.fence)
            #expect((try await viaEngine.status(of: name).delayedUntilMs != nil) == (request.lockDelayMs > 0))
            #expect((try await viaAttempt.status(of: name).delayedUntilMs != nil) == (request.lockDelayMs > 0))
        }
    }

    /// A client's token asked again finds its lease (a retry, the same
    /// fence, the new TTL), and a name taken with another limit is refused
    /// with the limit in force: the token and limit read from the request.
    @Test func aRetryAndALimitMismatchReadTheRequest() async throws {
        let loops = try EventLoopGroup(loopCount: 1, namePrefix: "request-attempt")
        defer { loops.shutdown() }
        let store = InMemoryLockStore()
        let engine = LockEngine(store: store, loops: loops, logger: Logger(label: "test"))
        let name = try LockName("request-attempt-retry-\(UInt64.random(in: 0 ... .max))")
        let token = try LeaseToken("client-chosen-token-for-a-retry-42")
        let first = try #require(try engine.acquireAtOnce(AcquireRequest(name: name, ttlMs: 5_000, token: token, limit: 2)))
        let again = try #require(try engine.acquireAtOnce(AcquireRequest(name: name, ttlMs: 9_000, token: token, limit: 2)))
        #expect(again.isRetry)
        #expect(again.lease.fence == first.lease.fence)
        #expect(again.lease.ttlMs == 9_000)
        #expect(again.lease.token == token)
        let refused = #expect(throws: LockError.self) { try engine.acquireAtOnce(AcquireRequest(name: name, ttlMs: 5_000, limit: 3)) }
        #expect(refused == .limitMismatch(limit: 2))
        #expect(try await store.status(of: name).holders.count == 1)
    }
}
