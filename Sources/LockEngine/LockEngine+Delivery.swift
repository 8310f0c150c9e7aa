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
            store.acquire(attempt, answering: AttemptAnswer(engine: self, ownToken: ownToken, cancellation: $0, answer: .delivery(until: deadline, $1)))
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
