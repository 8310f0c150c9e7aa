import LockdTransport

/// What a store's operation answered through a callback is given: its
/// outcome, once — handed over (consumed), so that the callback moves a
/// grant's lease out of it where a lent outcome was copied whole, and the
/// caller's, left to destroy, went through the runtime's generic `Result`
/// witness (~0.4 k instructions a Redis acquire together).
public typealias StoreCompletion<Value> = @Sendable (consuming Result<Value, LockError>) -> Void

/// The callback forms of a store that can only await (a test's store): each
/// runs its `async` operation in a task, which `cancellation` cancels.
extension LockStore {
    public func acquire(_ attempt: AcquireAttempt, cancellation: CallCancellation, completion: @escaping StoreCompletion<AcquireResult>) {
        inTask(cancellation, completion) { () async throws(LockError) in try await acquire(attempt) }
    }

    /// The engine's answer called from the callback form.
    public func acquire(_ attempt: consuming AcquireAttempt, answering answer: consuming LockEngine.AttemptAnswer) {
        let attempt = copy attempt
        acquire(attempt, cancellation: answer.cancellation) { [answer] outcome in (copy answer).received(outcome, of: attempt) }
    }

    public func release(_ name: LockName, token: LeaseToken, cancellation: CallCancellation, completion: @escaping StoreCompletion<Bool>) {
        inTask(cancellation, completion) { () async throws(LockError) in try await release(name, token: token) }
    }

    /// The engine's answer called from the callback form.
    public func release(_ name: LockName, token: LeaseToken, answering answer: consuming LockEngine.ReleaseAnswer) {
        release(name, token: token, cancellation: answer.cancellation) { [answer] ended in
            (copy answer).received(ended, name: name, token: token)
        }
    }

    public func releaseReportingHolder(_ name: LockName, token: LeaseToken, cancellation: CallCancellation,
                                       completion: @escaping StoreCompletion<Holder?>) {
        inTask(cancellation, completion) { () async throws(LockError) in try await releaseReportingHolder(name, token: token) }
    }

    /// Runs `operation` in a task of its own, cancelled with `cancellation`.
    func inTask<Value: Sendable>(
        _ cancellation: CallCancellation, _ completion: @escaping StoreCompletion<Value>,
        _ operation: @escaping @Sendable () async throws(LockError) -> Value
    ) {
        cancellation.startTask {
            do throws(LockError) {
                completion(.success(try await operation()))
            } catch {
                completion(.failure(error))
            }
        }
    }
}

/// A store whose operations never wait answers its callbacks at once, on
/// the caller's thread.
extension ImmediateLockStore {
    public func acquire(_ attempt: AcquireAttempt, cancellation: CallCancellation, completion: @escaping StoreCompletion<AcquireResult>) {
        completion(Result { () throws(LockError) in try acquireAtOnce(attempt) })
    }

    /// Answered at once: no closure made to carry the answer.
    public func acquire(_ attempt: consuming AcquireAttempt, answering answer: consuming LockEngine.AttemptAnswer) {
        let outcome = Result { () throws(LockError) in try acquireAtOnce(attempt) }
        answer.received(outcome, of: attempt)
    }

    public func release(_ name: LockName, token: LeaseToken, cancellation: CallCancellation, completion: @escaping StoreCompletion<Bool>) {
        completion(.success(releaseAtOnce(name, token: token)))
    }

    /// Answered at once: no closure made to carry the answer.
    public func release(_ name: LockName, token: LeaseToken, answering answer: consuming LockEngine.ReleaseAnswer) {
        answer.received(.success(releaseAtOnce(name, token: token)), name: name, token: token)
    }

    public func releaseReportingHolder(_ name: LockName, token: LeaseToken, cancellation: CallCancellation,
                                       completion: @escaping StoreCompletion<Holder?>) {
        completion(.success(releaseReportingHolderAtOnce(name, token: token)))
    }
}

/// Runs a store's callback form from `async` code: the task's cancellation
/// cancels it. Runs where the caller runs (no executor hop on entry or exit).
nonisolated(nonsending) func awaitingCallback<Value: Sendable>(
    _ start: (CallCancellation, @escaping StoreCompletion<Value>) -> Void
) async throws(LockError) -> Value {
    let cancellation = CallCancellation()
    let result = await _unsafeInheritExecutor_withTaskCancellationHandler {
        await withUnsafeContinuation { (continuation: UnsafeContinuation<Result<Value, LockError>, Never>) in
            start(cancellation) { continuation.resume(returning: $0) }
        }
    } onCancel: {
        cancellation.cancel()
    }
    return try result.get()
}
