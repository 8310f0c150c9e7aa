import LockdTransport
import Logging

/// Making a store's grant safe to hand to a client: delivered only while
/// most of its TTL remains, else given back.
extension LockEngine {
    enum Delivery {
        case granted(AcquireGrant)
        case held(holders: [Holder], retryAfterMs: Int64, hint: WaitHint)
        /// Granted, but too late to be useful: given back (see
        /// ``givesBack(lateGrantFound:ownToken:lastAttempt:)``); try anew,
        /// unless it was the request's last attempt. `fence` is the late
        /// grant's, `found` the store's `isRetry` (the token held it
        /// already): what its give-back needs, carried here so that the
        /// store's answer is consumed, its lease moved into the grant.
        case tooLate(isLastAttempt: Bool, fence: Int64, found: Bool)
    }

    static let deliveryAttempts = 3
    static let tooSlowDetail = "lockd could not deliver a lease before it would expire; try again"

    /// The instant (``MonotonicClock``, nanoseconds) by which a grant of
    /// `ttlMs`, asked for at `askedAt`, must reach its client: a tenth of
    /// its TTL is kept in hand for the answer's way out. The one rule for
    /// every grant — checked when the store's answer comes (a grant too late
    /// already is given back, and tried again while the request may), and,
    /// carried as ``AcquireGrant/deliverBy``, by the server as it writes the
    /// answer: its loop may have stalled, or lockd been stopped, in between.
    public static func deliverBy(askedAt: UInt64, ttlMs: Int64) -> UInt64 {
        askedAt + UInt64(ttlMs - ttlMs / 10) * 1_000_000
    }

    /// One store attempt, made safe to hand to a client: a grant is returned
    /// only while most of its TTL remains (measured on lockd's monotonic
    /// clock from before the request left), and a grant whose caller has
    /// gone is released at once.
    /// `ownToken`: the token is one lockd made for the request.
    /// `deadline` (monotonic ns): when the request's wait ends; a grant that
    /// comes too late after it is the request's last.
    nonisolated(nonsending) func attemptDeliverable(_ attempt: AcquireAttempt, ownToken: Bool,
                                                           deadline: UInt64) async throws(LockError) -> Delivery {
        try await awaitingCallback {
            StoreAttempt(engine: self, attempt: attempt, ownToken: ownToken, cancellation: $0, answer: .delivery(until: deadline, $1)).start()
        }
    }

    /// One store attempt made safe to hand to a client (see
    /// ``attemptDeliverable(_:)``), and for an acquire that does not wait,
    /// its settling too: tried again while its grant comes too late (each
    /// such grant given back first), up to ``deliveryAttempts`` times. One
    /// object, whose method the store calls back, where a closure for each
    /// step (three a no-wait acquire) cost an allocation each.
    final class StoreAttempt: Sendable {
        /// Who is answered, with what.
        enum Answer: Sendable {
            /// The attempt's delivery as it is (the waiting path), for a
            /// request whose wait ends at `until` (monotonic ns).
            case delivery(until: UInt64, StoreCompletion<Delivery>)
            /// An acquire that does not wait: its grant, counted. What the
            /// answer needs of its request (name, client, whether lockd made
            /// the token) is the attempt's: the request itself, carried
            /// here, was copied in and out and destroyed (~0.5 k
            /// instructions a Redis acquire).
            case grant(attemptsLeft: Int, @Sendable (consuming Result<AcquireGrant, LockError>) -> Void)
        }

        private let engine: LockEngine
        private let attempt: AcquireAttempt
        /// Whether the token is one lockd made for the request (kept apart
        /// from the answer: read from it, the request was copied out).
        private let ownToken: Bool
        /// Stands for the caller's task.
        private let cancellation: CallCancellation
        // The answer, as plain fields: exactly one of the two completions is
        // set — `grant` (with `attemptsLeft`) for ``Answer/grant(attemptsLeft:_:)``,
        // `delivery` (with `waitEnds`) for ``Answer/delivery(until:_:)``.
        // Kept as the enum, its closure was copied out (retained and
        // released) as it was matched, and the enum destroyed through its
        // outlined witness (~60 instructions an acquire).
        private let grant: (@Sendable (consuming Result<AcquireGrant, LockError>) -> Void)?
        private let attemptsLeft: Int
        private let delivery: StoreCompletion<Delivery>?
        /// When the request's wait ends (monotonic ns), for `delivery`.
        private let waitEnds: UInt64
        /// When the attempt left: its grant is measured against its TTL from here.
        private let started = MonotonicClock.now()

        init(engine: LockEngine, attempt: AcquireAttempt, ownToken: Bool, cancellation: CallCancellation, answer: consuming Answer) {
            self.engine = engine
            self.attempt = attempt
            self.ownToken = ownToken
            self.cancellation = cancellation
            switch consume answer {
            case .delivery(let until, let completion):
                (grant, attemptsLeft, delivery, waitEnds) = (nil, 0, completion, until)
            case .grant(let attemptsLeft, let completion):
                (grant, self.attemptsLeft, delivery, waitEnds) = (completion, attemptsLeft, nil, 0)
            }
        }

        func start() {
            engine.store.acquire(attempt, cancellation: cancellation, completion: received)
        }

        private func received(_ outcome: consuming Result<AcquireResult, LockError>) {
            // The answer is handled where it is matched: moved into a
            // variable first, then matched again for a grant's lease, the
            // store's answer (~140 bytes) was copied five times (`memcpy`,
            // ~145 instructions an acquire).
            switch consume outcome {
            case .failure(let error):
                guard error == .cancelled || cancellation.isCancelled else { return finish(.failure(error)) }
                // The attempt may have been granted before the reply was lost.
                // The request ends without a lease: a claim on lockd's own
                // token can only be one of its attempts', and any lease it
                // holds is theirs. A client's token may hold a lease the
                // client has (an earlier answer's, or a later request's):
                // only what this attempt was granted goes back, named by
                // its nonce, as its fence never came.
                let grant = attempt.nonce.map(GrantIdentity.attempt) ?? .any
                return engine.releaseQuietly(attempt.name, token: attempt.token, grant: grant, evenIfClaimed: ownToken, for: cancellation) {
                    self.finish(.failure(.cancelled))
                }
            case .success(let result):
                // Looked at for its case first: bound at once, the lease
                // was copied out of every grant.
                if case .granted = result, cancellation.isCancelled, case .granted(let lease, _, let hint) = result {
                    engine.follow(hint, on: attempt.name, isOrdered: false)
                    return engine.releaseQuietly(attempt.name, token: attempt.token, grant: .fence(lease.fence), evenIfClaimed: ownToken,
                                                 for: cancellation) {
                        self.finish(.failure(.cancelled))
                    }
                }
                let delivery = engine.delivery(consume result, of: attempt, ownToken: ownToken, startedAt: started, isLastAttempt: isLastAttempt)
                if case .tooLate(let last, let fence, let found) = delivery,
                   let evenIfClaimed = LockEngine.givesBack(lateGrantFound: found, ownToken: ownToken, lastAttempt: last) {
                    return engine.releaseQuietly(attempt.name, token: attempt.token, grant: .fence(fence), evenIfClaimed: evenIfClaimed,
                                                 for: cancellation) {
                        self.finish(.success(delivery))
                    }
                }
                finish(.success(delivery))
            }
        }

        /// Whether no attempt follows this one's grant if it comes too late:
        /// a no-wait acquire's last; a waiting one's once its wait is over
        /// (it tries until it is granted or its wait ends).
        private var isLastAttempt: Bool {
            grant != nil ? attemptsLeft <= 1 : MonotonicClock.now() >= waitEnds
        }

        // The completions are called through their optionals, not bound:
        // bound, each was retained for the call and released after.
        private func finish(_ outcome: consuming Result<Delivery, LockError>) {
            guard grant != nil else {
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
                    var next = attempt
                    if next.nonce != nil { next.nonce = .random() }
                    // (`grant` is set: checked above.)
                    return StoreAttempt(engine: engine, attempt: next, ownToken: ownToken, cancellation: cancellation,
                                        answer: .grant(attemptsLeft: attemptsLeft - 1, grant.unsafelyUnwrapped)).start()
                }
                grant?(.success(engine.granted(settled, name: attempt.name, client: attempt.client)))
            } catch {
                // The store's own failure: it may still run the attempt.
                if case .unavailable = error { engine.giveBackIfUnanswered(attempt.token, on: attempt.name, ownToken: ownToken) }
                grant?(.failure(error))
            }
        }
    }

    /// Whether a grant that came too late is given back now, and if so
    /// whether even when claimed (nil: not now). A new grant is, named by
    /// its fence and spared if claimed: the request's next attempt, under
    /// the same token, may find it after all (its give-back failed) and
    /// deliver it, claiming it. One an earlier attempt left under lockd's
    /// own token, found again (`lateGrantFound`: claimed by that asking),
    /// waits for the next attempt, which finds it once more with its TTL
    /// reset; after the last, no client will have it: given back even
    /// though claimed (only this request's attempts knew the token). Under
    /// a client's token a lease found is the client's own (a retry), for it
    /// to release.
    static func givesBack(lateGrantFound: Bool, ownToken: Bool, lastAttempt: Bool) -> Bool? {
        guard lateGrantFound else { return false }
        return ownToken && lastAttempt ? true : nil
    }

    /// What the store's answer to `attempt` (asked at `started`) lets the
    /// client have: a grant only while most of its TTL remains, else
    /// ``Delivery/tooLate(isLastAttempt:fence:found:)`` (the caller gives a new grant back).
    ///
    /// A lease found under a token lockd made for the request (`ownToken`)
    /// is new to the client whatever the store says: no one else knows the
    /// token, so it is an earlier attempt's grant that never reached the
    /// client (its reply lost, or it came too late and was not given back).
    /// `isLastAttempt`: no attempt follows if the grant comes too late.
    /// `result` is consumed: its lease is moved into the grant (copied,
    /// and the answer destroyed after, cost ~0.25 k instructions an acquire).
    func delivery(_ result: consuming AcquireResult, of attempt: AcquireAttempt, ownToken: Bool, startedAt started: UInt64,
                  isLastAttempt: Bool) -> Delivery {
        switch consume result {
        case .held(let holders, let retryAfterMs, let hint):
            return .held(holders: holders, retryAfterMs: retryAfterMs, hint: hint)
        case .granted(let lease, let isRetry, let hint):
            follow(hint, on: attempt.name, isOrdered: false)
            guard let deliverBy = deliverBy(lease, of: attempt.name, startedAt: started) else {
                return .tooLate(isLastAttempt: isLastAttempt, fence: lease.fence, found: isRetry)
            }
            return .granted(AcquireGrant(lease: lease, isRetry: isRetry && !ownToken, lockdMadeToken: ownToken, deliverBy: deliverBy))
        }
    }

    /// The instant by which `lease`, granted on `name` to an attempt that
    /// left at `started`, must reach its client
    /// (``deliverBy(askedAt:ttlMs:)``) — nil, and a warning, when that is
    /// past already: the grant came too late to be handed over.
    @inline(__always)
    func deliverBy(_ lease: borrowing Lease, of name: LockName, startedAt started: UInt64) -> UInt64? {
        let deliverBy = Self.deliverBy(askedAt: started, ttlMs: lease.ttlMs)
        let now = MonotonicClock.now()
        guard now < deliverBy else {
            logTooLate(name, elapsedNs: now - started, ttlMs: lease.ttlMs)
            return nil
        }
        return deliverBy
    }

    /// The warning for a grant that came too late. Apart, and never
    /// inlined: inlined, the read of the logger's storage it starts with
    /// was hoisted onto every acquire (an exclusivity check, ~75 instructions).
    @inline(never)
    private func logTooLate(_ name: LockName, elapsedNs: UInt64, ttlMs: Int64) {
        logger.warning("grant arrived too late to deliver; released it", metadata: [
            "lock.name": "\(name)", "elapsed_ms": .stringConvertible(elapsedNs / 1_000_000), "ttl_ms": .stringConvertible(ttlMs),
        ])
    }
}
