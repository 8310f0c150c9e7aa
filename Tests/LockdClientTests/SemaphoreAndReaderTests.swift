import LockdTestSupport
import Foundation
import OpenAPIRuntime
import Testing

@testable import LockdClient

@Suite("LockClient: semaphores and reader-writer locks")
struct SemaphoreAndReaderTests {
    static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            try ISO8601DateTranscoder.iso8601WithFractionalSeconds.decode(try decoder.singleValueContainer().decode(String.self))
        }
        return decoder
    }

    @Test("a 409 limit-mismatch becomes LockError.limitMismatch with lockd's limit; lock-held stays held (no server)")
    func conflictMapping() throws {
        let mismatch = try Self.decoder.decode(Components.Schemas.Problem.self, from: Data(#"""
            {"type":"limit-mismatch","title":"Limit mismatch","status":409,"detail":"in use with limit 4","limit":4}
            """#.utf8))
        let error = LockError(Components.Responses.AcquireConflict(body: .applicationProblemJson(mismatch)))
        guard case .limitMismatch(let limit) = error else { throw TestFailure("mapped to \(error)") }
        #expect(limit == 4)
        #expect(!error.isRetryable)

        let held = try Self.decoder.decode(Components.Schemas.Problem.self, from: Data(#"""
            {"type":"lock-held","title":"Lock held","status":409,"detail":"held","holders":[
             {"mode":"shared","fence":7,"expires_at":"2026-11-29T03:04:05.123Z","ttl_ms":900}]}
            """#.utf8))
        let heldError = LockError(Components.Responses.AcquireConflict(headers: .init(retryAfter: 3), body: .applicationProblemJson(held)))
        guard case .held(let holders, let retryAfter) = heldError else { throw TestFailure("mapped to \(heldError)") }
        #expect(holders.map(\.mode) == [.shared] && holders.map(\.fence) == [7])
        #expect(retryAfter == .seconds(3))
    }

    @Test("a plain lock's lease and status say exclusive, limit 1, nobody waiting", arguments: StoreKind.allCases)
    func plainLock(store: StoreKind) async throws {
        try await store.withLockd { lockd async throws in
            let name = uniqueLockName()
            let locks = lockd.client()
            let free = try await locks.status(name)
            #expect(free.mode == nil && free.limit == 1 && free.waiting == 0)
            let lease = try await locks.acquire(name, ttl: .seconds(30))
            #expect(lease.mode == .exclusive && lease.limit == 1)
            let held = try await locks.status(name)
            #expect(held.mode == .exclusive && held.limit == 1 && held.waiting == 0)
            #expect(held.holders.map(\.mode) == [.exclusive])
            try await lease.release()
        }
    }

    @Test("a semaphore grants its limit, reports the rest held, and another limit as limitMismatch", arguments: StoreKind.allCases)
    func semaphore(store: StoreKind) async throws {
        try await store.withLockd { lockd async throws in
            let name = uniqueLockName()
            let locks = lockd.client()
            var slots: [Lease] = []
            for _ in 0..<3 { slots.append(try await locks.acquire(name, ttl: .seconds(30), wait: .seconds(5), limit: 3)) }
            #expect(slots.allSatisfy { $0.limit == 3 && $0.mode == .exclusive })
            #expect(Set(slots.map(\.fence)).count == 3)
            #expect(try await locks.tryAcquire(name, ttl: .seconds(30), limit: 3) == nil)
            do {
                // Not nil, as for a held lock: waiting would not help.
                _ = try await locks.tryAcquire(name, wait: .seconds(5), limit: 2)
                Issue.record("an acquire with another limit did not throw")
            } catch LockError.limitMismatch(let limit) {
                #expect(limit == 3)
            }
            let status = try await locks.status(name)
            #expect(status.limit == 3 && status.holders.count == 3 && status.mode == .exclusive)
            for slot in slots { try await slot.release() }
        }
    }

    @Test("readers share; a writer waits in the queue, shows in waiting, and gets in when they leave", arguments: StoreKind.allCases)
    func readersAndWriter(store: StoreKind) async throws {
        try await store.withLockd { lockd async throws in
            let name = uniqueLockName()
            let locks = lockd.client()
            let first = try await locks.acquire(name, ttl: .seconds(30), mode: .shared)
            let second = try await locks.acquire(name, ttl: .seconds(30), wait: .seconds(5), mode: .shared)
            #expect(first.mode == .shared && second.mode == .shared && first.limit == 1)
            #expect(try await locks.tryAcquire(name, ttl: .seconds(30)) == nil)

            let writer = Task { try await locks.acquire(name, ttl: .seconds(30), wait: .seconds(30)) }
            let queued = try await eventually(within: .seconds(10)) { try await locks.status(name).waiting == 1 }
            #expect(queued)
            let status = try await locks.status(name)
            #expect(status.mode == .shared)
            #expect(status.holders.map(\.mode) == [.shared, .shared])

            try await first.release()
            try await second.release()
            let lease = try await writer.value
            #expect(lease.mode == .exclusive)
            #expect(lease.fence > max(first.fence, second.fence))
            try await lease.release()
        }
    }

    @Test("a reader with limit above 1 is refused as an invalid request", arguments: [StoreKind.memory])
    func sharedSemaphoreIsInvalid(store: StoreKind) async throws {
        try await store.withLockd { lockd async throws in
            do {
                _ = try await lockd.client().tryAcquire(uniqueLockName(), limit: 2, mode: .shared)
                Issue.record("a shared acquire with limit 2 was granted")
            } catch LockError.invalidRequest(let detail) {
                #expect(detail.contains("shared"))
            }
        }
    }
}
