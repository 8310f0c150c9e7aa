import LockdTestSupport
import LockdTransport
import LockEngine
import Logging
import Synchronization
import Testing

/// A grant a callback acquire gives back (its caller went while the store's
/// reply was on its way) is given back in a task started from the reply's
/// callback, outside any task — where the request's log metadata is bound
/// for the thread, not as a task local the task would inherit. The task's
/// lines are about that request: they must carry what the caller binds for
/// the tasks started for it (``CallCancellation/inCallerContext(_:)``; in
/// lockd, the request's id).
@Suite struct GiveBackLogContextTests {
    @Test func aGiveBackStartedFromAStoreReplyLogsWithItsCallersMetadata() async throws {
        try await StoreKind.memory.withStore { inner, loops, _ in
            let logs = CapturedLogs()
            let provider = Logger.MetadataProvider { Caller.name.map { ["caller": .string($0)] } ?? [:] }
            let logger = Logger(label: "give-back-context") { _ in CapturingLogHandler(logs: logs, metadataProvider: provider) }
            let store = LoopReplyStore(inner, loop: loops.loops[0])
            let engine = LockEngine(store: store, configuration: .init(), loops: loops, logger: logger)
            let cancellation = CallerCancellation("caller-7")
            let answered = Mutex<Result<AcquireGrant, LockError>?>(nil)
            engine.acquire(AcquireRequest(name: try LockName(uniqueLockName()), ttlMs: 60_000), cancellation: cancellation) { result in
                answered.withLock { $0 = result }
            }
            // The caller goes while the grant's reply is on its way.
            let asked = await eventually { store.asked.load(ordering: .relaxed) }
            try #require(asked)
            cancellation.cancel()
            store.reply()
            let ended = await eventually { answered.withLock { $0 } != nil }
            #expect(ended)
            let line = await eventually { logs.all.contains { $0.contains("could not give back a grant") } }
            #expect(line, "\(logs.all)")
            let lines = logs.all.filter { $0.contains("could not give back a grant") }
            #expect(lines.allSatisfy { $0.contains("caller-7") }, "\(lines)")
        }
    }

    private enum Caller {
        @TaskLocal static var name: String?
    }

    /// Binds its caller's name for the tasks started for the call, as lockd's
    /// promise binds the request's metadata.
    private final class CallerCancellation: CallCancellation, @unchecked Sendable {
        // Safe: `name` is an immutable Sendable value; the rest is CallCancellation's.
        let name: String
        init(_ name: String) { self.name = name }
        override func inCallerContext(_ work: @Sendable () async -> Void) async {
            await Caller.$name.withValue(name) { await work() }
        }
    }

    /// Grants through the real store, but answers the callback acquire on
    /// the loop, outside any task, when told (as the Redis store reads a
    /// reply); its give-backs fail (the store is out).
    private final class LoopReplyStore: ForwardingLockStore {
        let inner: any LockStore
        private let loop: EventLoop
        let asked = Atomic<Bool>(false)
        private let pending = Mutex<(@Sendable () -> Void)?>(nil)

        init(_ inner: any LockStore, loop: EventLoop) {
            self.inner = inner
            self.loop = loop
        }

        func acquire(_ attempt: AcquireAttempt, cancellation: CallCancellation, completion: @escaping StoreCompletion<AcquireResult>) {
            let inner = inner
            let loop = loop
            Task.detached {
                let result: Result<AcquireResult, LockError>
                do throws(LockError) { result = .success(try await inner.acquire(attempt)) } catch { result = .failure(error) }
                self.pending.withLock { $0 = { loop.execute { completion(result) } } }
                self.asked.store(true, ordering: .relaxed)
            }
        }

        /// Answers the acquire asked.
        func reply() {
            pending.withLock { $0.take() }?()
        }

        nonisolated(nonsending) func giveBack(
            _ name: LockName, token: LeaseToken, grant: GrantIdentity, evenIfClaimed: Bool
        ) async throws(LockError) -> Bool {
            throw .unavailable("the store is unavailable")
        }
    }
}
