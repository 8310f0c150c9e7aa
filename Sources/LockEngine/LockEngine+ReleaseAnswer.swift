import LockdTransport

extension LockEngine {
    /// What the engine makes of a store's answer to a release: the lease
    /// counted as released (or lost), then the caller answered. Handed to
    /// the store with the release (``LockStore/release(_:token:answering:)``).
    ///
    /// A value, not a closure: a store that answers by callback keeps it in
    /// its own call object (Redis: the script call), so a release's call is
    /// one allocation. As a closure it was two: the closure's context
    /// (holding the engine, name, token and completion) beside the call,
    /// which held the name and token again.
    public struct ReleaseAnswer: Sendable {
        private let engine: LockEngine
        /// Stands for the caller's task: the store's call is cancelled with it.
        public let cancellation: CallCancellation
        private let completion: @Sendable (Result<Void, LockError>) -> Void

        init(engine: LockEngine, cancellation: CallCancellation, completion: @escaping @Sendable (Result<Void, LockError>) -> Void) {
            self.engine = engine
            self.cancellation = cancellation
            self.completion = completion
        }

        /// The store's answer to the release of `token`'s lease on `name` —
        /// the name and token it was handed with this answer —: whether a
        /// lease ended. Called once.
        public consuming func received(_ ended: consuming Result<Bool, LockError>, name: borrowing LockName, token: borrowing LeaseToken) {
            do throws(LockError) {
                try engine.released(name, token: token, ended: ended.get())
            } catch {
                return completion(.failure(error))
            }
            completion(.success(()))
        }
    }
}
