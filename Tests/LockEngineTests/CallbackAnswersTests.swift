import LockdTestSupport
import LockdTransport
import LockEngine
import Synchronization
import Testing

/// The engine's callback forms — what lockd answers a Redis lock request
/// with, without a task — mean what its `async` forms mean: the same
/// grants, refusals and releases, and a cancelled caller is answered
/// `cancelled` with nothing left held.
@Suite struct CallbackAnswersTests {
    @Test(arguments: StoreKind.allCases)
    func aCallbackAcquireIsGrantedRefusedWhileHeldAndEndedByACallbackRelease(store: StoreKind) async throws {
        try await store.withEngine { engine, _ in
            let name = try LockName(uniqueLockName())
            let grant = try await Self.acquire(engine, AcquireRequest(name: name, ttlMs: 60_000)).get()
            #expect(try await engine.status(of: name).holders.map(\.fence) == [grant.lease.fence])
            guard case .failure(.lockHeld(let holders, _)) = await Self.acquire(engine, AcquireRequest(name: name, ttlMs: 60_000)) else {
                Issue.record("a held name was granted again")
                return
            }
            #expect(holders.map(\.fence) == [grant.lease.fence])
            try await Self.release(engine, name, grant.lease.token).get()
            #expect(try await engine.status(of: name).holders.isEmpty)
            guard case .failure(.leaseLost) = await Self.release(engine, name, grant.lease.token) else {
                Issue.record("a second release of the same lease did not answer lease-lost")
                return
            }
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aCallbackAcquireCancelledBeforeItStartsIsCancelledAndLeavesNothingHeld(store: StoreKind) async throws {
        try await store.withEngine { engine, _ in
            let name = try LockName(uniqueLockName())
            let cancellation = CallCancellation()
            cancellation.cancel()
            guard case .failure(.cancelled) = await Self.acquire(engine, AcquireRequest(name: name, ttlMs: 60_000), cancellation) else {
                Issue.record("a cancelled caller was not answered cancelled")
                return
            }
            #expect(try await engine.status(of: name).holders.isEmpty, "a grant nobody will release was left held")
        }
    }

    /// Redis stopped: the script is written (or queued) and never answered.
    /// Cancelling answers the caller at once; once Redis runs again, the
    /// grant it then makes is given back.
    @Test func aCallbackAcquireCancelledWhileRedisHangsIsAnsweredAtOnceAndItsLateGrantGivenBack() async throws {
        try await PausableRedisRig.withEngine(loopPrefix: "callback-answers") { engine, server in
            let name = try LockName(uniqueLockName())
            server.pause()
            let cancellation = CallCancellation()
            let outcome = OutcomeBox()
            engine.acquire(AcquireRequest(name: name, ttlMs: 60_000), cancellation: cancellation) { outcome.set($0) }
            // Nothing answers while Redis is stopped.
            #expect(outcome.value == nil)
            cancellation.cancel()
            let answered = await eventually(within: .seconds(5)) { outcome.value != nil }
            #expect(answered, "the cancelled caller was not answered")
            if case .failure(.cancelled) = outcome.value {} else { Issue.record("answered \(String(describing: outcome.value)), not cancelled") }
            server.resume()
            var held = true
            _ = await eventually(within: .seconds(10)) {
                held = (try? await engine.status(of: name).holders.isEmpty) == false
                return !held
            }
            #expect(!held, "the grant Redis made after the caller left was not given back")
        }
    }

    // MARK: Helpers

    private final class OutcomeBox: Sendable {
        private let state = Mutex<Result<AcquireGrant, LockError>?>(nil)
        func set(_ value: Result<AcquireGrant, LockError>) { state.withLock { $0 = value } }
        var value: Result<AcquireGrant, LockError>? { state.withLock { $0 } }
    }

    private static func acquire(_ engine: LockEngine, _ request: AcquireRequest,
                                _ cancellation: CallCancellation = CallCancellation()) async -> Result<AcquireGrant, LockError> {
        await withCheckedContinuation { continuation in
            engine.acquire(request, cancellation: cancellation) { continuation.resume(returning: $0) }
        }
    }

    private static func release(_ engine: LockEngine, _ name: LockName, _ token: LeaseToken,
                                _ cancellation: CallCancellation = CallCancellation()) async -> Result<Void, LockError> {
        await withCheckedContinuation { continuation in
            engine.release(name, token: token, cancellation: cancellation) { continuation.resume(returning: $0) }
        }
    }
}
