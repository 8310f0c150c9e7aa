import LockdTransport

extension LockEngine {
    /// A waiting acquire's first attempt, made by callback
    /// (``acquireWaitingByCallback(_:cancellation:taskExecutor:completion:)``),
    /// as the attempt's answer (``AttemptAnswer``) holds it: what a grant in
    /// the reply answers, and what the task that goes on waiting needs.
    ///
    /// An object the answer calls, not a completion closure fed a
    /// `Result<Delivery, LockError>`: the closure matched the grant back
    /// out of the result it was handed, and the match copied the delivery
    /// and destroyed the original through their outlined witnesses (~0.3 k
    /// instructions a free name's waiting acquire). Here a grant is handed
    /// over as the answer made it. One allocation either way (this object,
    /// or the closure's context).
    final class WaitingFirstAttempt: Sendable {
        let request: AcquireRequest
        let token: LeaseToken
        let place: WaitingPlace
        /// Whether the attempt asked for the holders (its `needsHolders`).
        let neededHolders: Bool
        let cancellation: CallCancellation
        /// Where the task that goes on waiting runs (the request's loop).
        let taskExecutor: (any TaskExecutor)?
        let completion: @Sendable (consuming Result<AcquireGrant, LockError>) -> Void

        init(request: AcquireRequest, token: LeaseToken, place: WaitingPlace, neededHolders: Bool, cancellation: CallCancellation,
             taskExecutor: (any TaskExecutor)?, completion: @escaping @Sendable (consuming Result<AcquireGrant, LockError>) -> Void) {
            self.request = request
            self.token = token
            self.place = place
            self.neededHolders = neededHolders
            self.cancellation = cancellation
            self.taskExecutor = taskExecutor
            self.completion = completion
        }

        /// Granted by the first reply, in time: what ``keepWaiting(_:token:_:first:)``
        /// and ``acquireWaiting(_:token:)`` do with their own attempt's grant.
        func granted(_ grant: consuming AcquireGrant, by engine: LockEngine) {
            engine.storeServed()
            engine.leaveWaiters(place.waiter)
            completion(.success(engine.granted(grant, for: request)))
        }

        /// Any other outcome (held and queued, too late, failed, cancelled):
        /// a task goes on waiting from it, as ``keepWaiting(_:token:_:first:)``'s
        /// own first attempt's — on `taskExecutor`, cancelled with the
        /// caller, with the caller's log metadata (as
        /// ``CallCancellation/startTask(_:)``).
        func goOn(from outcome: consuming Result<Delivery, LockError>, by engine: LockEngine) {
            let first = FirstOutcome(outcome: outcome, neededHolders: neededHolders)
            let task = Task(executorPreference: taskExecutor) { [self] in
                await cancellation.inCallerContext {
                    do throws(LockError) {
                        let grant = try await engine.keepWaiting(request, token: token, place, first: first)
                        completion(.success(engine.granted(grant, for: request)))
                    } catch {
                        completion(.failure(error))
                    }
                }
            }
            cancellation.onCancel { task.cancel() }
        }
    }
}
