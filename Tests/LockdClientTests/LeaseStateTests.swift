import Foundation
import Testing

@testable import LockdClient

@Suite("LeaseState and the wire helpers (no server)")
struct LeaseStateTests {
    private let start = ContinuousClock.now
    private let expiry = Date(timeIntervalSince1970: 1_800_000_000)

    @Test("the deadline is the send instant plus the TTL, and moves with each renewal")
    func deadlineFollowsRenewals() {
        var state = LeaseState(expiresAt: expiry, ttl: .seconds(3), sentAt: start)
        #expect(state.deadline == start + .seconds(3))
        #expect(state.expire(ifDueAt: start + .seconds(2)).isEmpty)
        #expect(state.phase == .held)
        _ = state.renewed(expiresAt: expiry.addingTimeInterval(2), ttl: .seconds(5), sentAt: start + .seconds(2))
        #expect(state.deadline == start + .seconds(7))
        #expect(state.ttl == .seconds(5))
        #expect(state.expiresAt == expiry.addingTimeInterval(2))
        _ = state.expire(ifDueAt: start + .seconds(7))
        #expect(state.phase == .lost)
    }

    @Test("once lost, a lease stays lost: a late renewal or a release does not revive it")
    func lossIsFinal() {
        var state = LeaseState(expiresAt: expiry, ttl: .seconds(1), sentAt: start)
        _ = state.lost()
        let version = state.version
        #expect(state.renewed(expiresAt: expiry, ttl: .seconds(1), sentAt: start + .seconds(1)).isEmpty)
        #expect(state.released().isEmpty)
        #expect(state.phase == .lost)
        #expect(state.version == version)
    }

    @Test("lockd's no-such-lease to a release after one that may have gone through means released, else lost")
    func releaseRefusedAfterUncertainAttempt() {
        var uncertain = LeaseState(expiresAt: expiry, ttl: .seconds(1), sentAt: start)
        _ = uncertain.beginRelease()
        uncertain.releaseUncertain()
        _ = uncertain.releaseRefused()
        #expect(uncertain.phase == .released)
        var refused = LeaseState(expiresAt: expiry, ttl: .seconds(1), sentAt: start)
        _ = refused.beginRelease()
        _ = refused.releaseRefused()
        #expect(refused.phase == .lost)
    }

    @Test("a released lease is never reported lost")
    func releasedIsNotLost() {
        var state = LeaseState(expiresAt: expiry, ttl: .seconds(1), sentAt: start)
        _ = state.released()
        _ = state.expire(ifDueAt: start + .seconds(5))
        _ = state.lost()
        _ = state.releaseRefused()
        #expect(state.phase == .released)
    }

    @Test("once a release begins, a renewal's 'lost' (it crossed the release on the wire) does not count")
    func releasingIgnoresRenewals() {
        var state = LeaseState(expiresAt: expiry, ttl: .seconds(3), sentAt: start)
        let (_, before) = state.beginRelease()
        #expect(before == .held)
        #expect(state.phase == .releasing)
        #expect(state.lost().isEmpty)
        #expect(state.renewed(expiresAt: expiry, ttl: .seconds(3), sentAt: start + .seconds(1)).isEmpty)
        #expect(state.phase == .releasing)
        #expect(state.beginRelease().1 == .releasing)  // a second release goes ahead too
        _ = state.released()
        #expect(state.phase == .released)
        #expect(state.beginRelease().1 == .released)
    }

    @Test("a release lockd refuses means the lease was lost; one that runs out unanswered is released")
    func releaseOutcomes() {
        var refused = LeaseState(expiresAt: expiry, ttl: .seconds(3), sentAt: start)
        _ = refused.beginRelease()
        _ = refused.releaseRefused()
        #expect(refused.phase == .lost)

        var unanswered = LeaseState(expiresAt: expiry, ttl: .seconds(3), sentAt: start)
        _ = unanswered.beginRelease()
        _ = unanswered.expire(ifDueAt: start + .seconds(3))
        #expect(unanswered.phase == .released)

        var lost = LeaseState(expiresAt: expiry, ttl: .seconds(3), sentAt: start)
        _ = lost.lost()
        #expect(lost.beginRelease().1 == .lost)
        #expect(lost.phase == .lost)
    }

    @Test("renewals are due at a third of the TTL; after a failure, after the backoff but before the deadline")
    func renewalSchedule() {
        var state = LeaseState(expiresAt: expiry, ttl: .seconds(9), sentAt: start)
        #expect(state.nextRenewal(now: start, backoff: nil) == start + .seconds(3))
        _ = state.renewed(expiresAt: expiry, ttl: .seconds(9), sentAt: start + .seconds(3))
        #expect(state.nextRenewal(now: start + .seconds(3), backoff: nil) == start + .seconds(6))
        // Deadline at 12 s. At 6 s a failure with a 1 s backoff retries at 7 s; a
        // 10 s Retry-After is cut to a quarter of what is left (1.5 s).
        #expect(state.nextRenewal(now: start + .seconds(6), backoff: .seconds(1)) == start + .seconds(7))
        #expect(state.nextRenewal(now: start + .seconds(6), backoff: .seconds(10)) == start + .milliseconds(7500))
        // Never past the deadline, and never a busy loop just before it.
        #expect(state.nextRenewal(now: start + .milliseconds(11_990), backoff: .seconds(1)) == start + .seconds(12))
        #expect(state.nextRenewal(now: start + .milliseconds(11_900), backoff: .seconds(1)) == start + .milliseconds(11_925))
    }

    @Test("a waiter registers only if it saw the latest version; each change wakes it once")
    func waiters() async {
        var state = LeaseState(expiresAt: expiry, ttl: .seconds(1), sentAt: start)
        let stale = state.version
        _ = state.renewed(expiresAt: expiry, ttl: .seconds(1), sentAt: start)
        await withCheckedContinuation { continuation in
            let registered = state.wait(after: stale, id: state.makeWaiterID(), continuation)
            #expect(!registered)
            continuation.resume()
        }
        await withCheckedContinuation { continuation in
            let id = state.makeWaiterID()
            let registered = state.wait(after: state.version, id: id, continuation)
            #expect(registered)
            let woken = state.lost()
            #expect(woken.count == 1)
            let leftOver = state.cancelWait(id: id)
            #expect(leftOver == nil)
            woken.forEach { $0.resume() }
        }
    }

    @Test("durations become whole milliseconds, clamped", arguments: [
        (Duration.milliseconds(1500), 1500),
        (.microseconds(1999), 1),
        (.zero, 0),
        (.seconds(Int64.max), Int.max),
        (.seconds(Int64.min), Int.min),
    ])
    func milliseconds(duration: Duration, expected: Int) {
        #expect(duration.wholeMilliseconds == expected)
    }

    @Test("client-made tokens are 22 characters of base64url and differ")
    func tokens() {
        let tokens = (0..<100).map { _ in LeaseToken.random() }
        for token in tokens {
            #expect(token.count == 22)
            #expect(token.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
        }
        #expect(Set(tokens).count == tokens.count)
    }

    @Test("names follow lockd's rule", arguments: ["a", "orders:4711", "A.b_c-d:e", "...", String(repeating: "n", count: 255)])
    func goodNames(name: String) throws {
        try LockName.validate(name)
    }
}
