import LockdTransport

extension LockEngine {
    /// What the engine makes of one store attempt's outcome, handed to the
    /// store with the attempt (``LockStore/acquire(_:answering:)``): a grant
    /// is returned only while most of its TTL remains (measured on lockd's
    /// monotonic clock from before the request left), and a grant whose
    /// caller has gone is released at once. For an acquire that does not
    /// wait it settles the request too: tried again while its grant comes
    /// too late (each such grant given back first), up to
    /// ``deliveryAttempts`` times.
    ///
    /// A value, not an object: a store that answers by callback keeps it in
    /// its own call object (Redis: the script call), so an acquire's call is
    /// one allocation. As an object of the engine's beside the store's, it
    /// was two, and the attempt, held by both, was copied into the second
    /// and destroyed with it (~0.5 k instructions a Redis acquire). The
    /// attempt stays the store's: it hands it back with the outcome.
    public struct AttemptAnswer: Sendable {
        /// Who is answered, with what.
        enum Answer: Sendable {
            /// The attempt's delivery as it is (the waiting path), for a
            /// request whose wait ends at `until` (monotonic ns).
            case delivery(until: UInt64, StoreCompletion<Delivery>)
            /// An acquire that does not wait: its grant, counted. What the
            /// answer needs of its request (name, client) is the attempt's:
            /// the request itself, carried here, was copied in and out and
            /// destroyed (~0.5 k instructions a Redis acquire).
            case grant(attemptsLeft: Int, @Sendable (consuming Result<AcquireGrant, LockError>) -> Void)
            /// A waiting acquire's first attempt made by callback: a grant
            /// goes to `first` as it is made, any other outcome as its
            /// delivery (``WaitingFirstAttempt``); its wait ends at its place's deadline.
            case firstOfWaiting(WaitingFirstAttempt)
        }

        private let engine: LockEngine
        /// Stands for the caller's task: the store's call is cancelled with it.
        public let cancellation: CallCancellation
        /// Whether the token is one lockd made for the request (kept apart
        /// from the answer: read from it, the request was copied out).
        private let ownToken: Bool
        // The answer, as plain fields: exactly one of the two completions is
        // set — `grant` (with `attemptsLeft`) for ``Answer/grant(attemptsLeft:_:)``,
        // `delivery` (with `waitEnds`) for ``Answer/delivery(until:_:)``.
        // Kept as the enum, its closure was copied out (retained and
        // released) as it was matched, and the enum destroyed through its
        // outlined witness (~60 instructions an acquire).
        private let grant: (@Sendable (consuming Result<AcquireGrant, LockError>) -> Void)?
        private let attemptsLeft: Int
        private let delivery: StoreCompletion<Delivery>?
        /// Set instead of `delivery` for ``Answer/firstOfWaiting(_:)``.
        private let waiting: WaitingFirstAttempt?
        /// When the request's wait ends (monotonic ns), for `delivery`.
        private let waitEnds: UInt64
        /// When the attempt left: its grant is measured against its TTL from here.
        private let started = MonotonicClock.now()
        /// When the attempt left (lockd's monotonic clock, ns), read as this
        /// answer was made just before: a store may take it as its call's
        /// start rather than read the clock again.
        public var startedAt: UInt64 { started }

        init(engine: LockEngine, ownToken: Bool, cancellation: CallCancellation, answer: consuming Answer) {
            self.engine = engine
            self.ownToken = ownToken
            self.cancellation = cancellation
            switch consume answer {
            case .delivery(let until, let completion):
                (grant, attemptsLeft, delivery, waitEnds, waiting) = (nil, 0, completion, until, nil)
            case .grant(let attemptsLeft, let completion):
                (grant, self.attemptsLeft, delivery, waitEnds, waiting) = (completion, attemptsLeft, nil, 0, nil)
            case .firstOfWaiting(let first):
                (grant, attemptsLeft, delivery, waitEnds, waiting) = (nil, 0, nil, first.place.deadline, first)
            }
        }

        /// The store's outcome of `attempt` — the attempt it was handed with
        /// this answer —, made what the caller gets. Called once.
        /// A grant is the caller's only while most of its TTL remains, else
        /// it came too late (given back, and tried anew unless it was the
        /// last attempt). A lease found under a token lockd made for the
        /// request (``ownToken``) is new to the client whatever the store
        /// says: no one else knows the token, so it is an earlier attempt's
        /// grant that never reached the client (its reply lost, or it came
        /// too late and was not given back).
        /// Consumed: its completion is called as it is held, not retained
        /// for the call and released after.
        public consuming func received(_ outcome: consuming Result<AcquireResult, LockError>, of attempt: borrowing AcquireAttempt) {
            // The answer is handled where it is matched: moved into a
            // variable first, then matched again for a grant's lease, the
            // store's answer (~140 bytes) was copied five times (`memcpy`,
            // ~145 instructions an acquire).
            switch consume outcome {
            case .failure(let error):
                guard error == .cancelled || cancellation.isCancelled else { return finish(.failure(error), of: attempt) }
                // The attempt may have been granted before the reply was lost.
                // The request ends without a lease: a claim on lockd's own
                // token can only be one of its attempts', and any lease it
                // holds is theirs. A client's token may hold a lease the
                // client has (an earlier answer's, or a later request's):
                // only what this attempt was granted goes back, named by
                // its nonce, as its fence never came.
                let grant = attempt.nonce.map(GrantIdentity.attempt) ?? .any
                let (answer, attempt) = (copy self, copy attempt)
                return engine.releaseQuietly(attempt.name, token: attempt.token, grant: grant, evenIfClaimed: ownToken, for: cancellation) {
                    answer.finish(.failure(.cancelled), of: attempt)
                }
            case .success(.granted(let lease, let isRetry, let hint)):
                // A grant is delivered from here, built once into what the
                // caller is handed. Through the attempt's `Delivery`, then a
                // `Result` of it, then the grant taken out again, the
                // store's answer (~140 bytes) was moved four times more and
                // the lease's fields spilled twice (~0.4 k instructions an
                // acquire); and a waiting attempt read the clock for
                // `isLastAttempt` even when its grant came in time.
                let cancelled = cancellation.isCancelled
                // (Most grants bring no hint: looked at here, the name is not
                // retained for ``LockEngine/follow(_:on:isOrdered:)`` and
                // released after, ~30 instructions.)
                if !hint.asksNothing { engine.follow(hint, on: attempt.name, isOrdered: false) }
                if cancelled {
                    let (answer, attempt) = (copy self, copy attempt)
                    return engine.releaseQuietly(attempt.name, token: attempt.token, grant: .fence(lease.fence), evenIfClaimed: ownToken,
                                                 for: cancellation) {
                        answer.finish(.failure(.cancelled), of: attempt)
                    }
                }
                guard let deliverBy = engine.deliverBy(lease, of: attempt.name, startedAt: started) else {
                    return late(fence: lease.fence, found: isRetry, of: attempt)
                }
                let delivered = AcquireGrant(lease: lease, isRetry: isRetry && !ownToken, lockdMadeToken: ownToken, deliverBy: deliverBy)
                guard grant != nil else {
                    // (`waiting` is set: checked.)
                    guard waiting == nil else { return waiting.unsafelyUnwrapped.granted(delivered, by: engine) }
                    delivery?(.success(.granted(delivered)))
                    return
                }
                grant?(.success(engine.granted(delivered, name: attempt.name, client: attempt.client)))
            case .success(.held(let holders, let retryAfterMs, let hint)):
                finish(.success(.held(holders: holders, retryAfterMs: retryAfterMs, hint: hint)), of: attempt)
            }
        }

        /// A grant that came too late to be delivered (``LockEngine/Delivery/tooLate(isLastAttempt:fence:found:)``):
        /// given back first when it must be, then settled as such.
        @inline(never)
        private consuming func late(fence: Int64, found: Bool, of attempt: borrowing AcquireAttempt) {
            let last = isLastAttempt
            let delivery = Delivery.tooLate(isLastAttempt: last, fence: fence, found: found)
            if let evenIfClaimed = LockEngine.givesBack(lateGrantFound: found, ownToken: ownToken, lastAttempt: last) {
                let (answer, attempt) = (copy self, copy attempt)
                return engine.releaseQuietly(attempt.name, token: attempt.token, grant: .fence(fence), evenIfClaimed: evenIfClaimed,
                                             for: cancellation) {
                    answer.finish(.success(delivery), of: attempt)
                }
            }
            finish(.success(delivery), of: attempt)
        }

        /// Whether no attempt follows this one's grant if it comes too late:
        /// a no-wait acquire's last; a waiting one's once its wait is over
        /// (it tries until it is granted or its wait ends).
        private var isLastAttempt: Bool {
            grant != nil ? attemptsLeft <= 1 : MonotonicClock.now() >= waitEnds
        }

        // The completions are called through their optionals, not bound:
        // bound, each was retained for the call and released after.
        private consuming func finish(_ outcome: consuming Result<Delivery, LockError>, of attempt: borrowing AcquireAttempt) {
            guard grant != nil else {
                guard waiting == nil else { return waiting.unsafelyUnwrapped.goOn(from: outcome, by: engine) }
                delivery?(outcome)
                return
            }
            // Each answer handed over as it is made: one `Result` kept in
            // a variable for a single call was destroyed after it, its
            // case unknown, through the runtime's generic `Result`
            // witness, which looks the type up (~0.1 k instructions a
            // Redis acquire).
            do throws(LockError) {
                guard let settled = try LockEngine.settled(consume outcome) else {
                    // Too slow: each too-late grant was given back as it came.
                    guard attemptsLeft > 1 else {
                        grant?(.failure(.unavailable(LockEngine.tooSlowDetail)))
                        return
                    }
                    var next = copy attempt
                    if next.nonce != nil { next.nonce = .random() }
                    // (`grant` is set: checked above.)
                    return engine.store.acquire(next, answering: AttemptAnswer(
                        engine: engine, ownToken: ownToken, cancellation: cancellation,
                        answer: .grant(attemptsLeft: attemptsLeft - 1, grant.unsafelyUnwrapped)))
                }
                grant?(.success(engine.granted(settled, name: attempt.name, client: attempt.client)))
            } catch {
                // The store's own failure: it may still run the attempt.
                if case .unavailable = error { engine.giveBackIfUnanswered(attempt.token, on: attempt.name, ownToken: ownToken) }
                grant?(.failure(error))
            }
        }
    }
}

private extension WaitHint {
    /// Whether the hint asks nothing of the engine (as ``LockEngine/follow(_:on:isOrdered:)`` checks first).
    var asksNothing: Bool { granted.isEmpty && wake.isEmpty && recheckAfterMs == nil }
}
