/// Pairs each release of a contended name with the grant that follows it, as
/// seen by the clients, to measure handoff latency: from the moment a
/// release's `204` arrives to the moment the next waiter's `201` arrives.
/// On a semaphore (`limit` above 1) releases are paired with grants first in,
/// first out, at most as many as there are free slots.
///
/// Only waiters count: a grant is a handoff when its acquire was sent before
/// the release was seen (it was queued); a grant to an acquire sent later
/// measures the client's own think time, not the server's hand-over, and is
/// skipped. Both responses are read by lockbench, possibly on different
/// event-loop threads, so the one that came second can be noticed first;
/// such a pair is counted as ``reordered`` and recorded as zero.
///
/// ```swift
/// var tracker = HandoffTracker(names: 4)
/// tracker.granted(name: 0, at: t0, acquireSentAt: s0)          // nil: first holder
/// tracker.released(name: 0, at: t1)                             // nil
/// tracker.granted(name: 0, at: t2, acquireSentAt: s1)           // t2 - t1 when s1 < t1
/// ```
public struct HandoffTracker: Sendable {
    private struct NameState: Sendable {
        /// Grants seen minus releases (and abandoned leases) seen.
        var holders = 0
        /// When releases were seen, oldest first, until grants claim them (at
        /// most as many as the name has free slots).
        var releases: [UInt64] = []
        /// Grants seen while the previous holder's release was not yet seen.
        var earlyGrants: [UInt64] = []
    }

    private var states: [NameState]
    private let limit: Int
    /// Handoffs whose grant was noticed before the release it followed.
    public private(set) var reordered = 0

    /// Tracks `names` names, indexed from 0, each with `limit` holders at once.
    public init(names: Int, limit: Int = 1) {
        states = Array(repeating: NameState(), count: names)
        self.limit = max(1, limit)
    }

    /// Notes a `201` for `name`; returns the handoff latency in nanoseconds
    /// when this grant went to a waiter that a seen release handed over to.
    public mutating func granted(name: Int, at time: UInt64, acquireSentAt sentAt: UInt64) -> UInt64? {
        defer { states[name].holders += 1 }
        if !states[name].releases.isEmpty {
            let releasedAt = states[name].releases.removeFirst()
            return sentAt < releasedAt ? time &- releasedAt : nil
        }
        if states[name].holders >= limit { states[name].earlyGrants.append(sentAt) }
        return nil
    }

    /// Notes a `204` for `name`; returns zero when a grant for the same name
    /// was already seen (a reordered handoff), nil otherwise.
    public mutating func released(name: Int, at time: UInt64) -> UInt64? {
        states[name].holders = max(0, states[name].holders - 1)
        if !states[name].earlyGrants.isEmpty {
            let sentAt = states[name].earlyGrants.removeFirst()
            guard sentAt < time else { return nil }
            reordered += 1
            return 0
        }
        states[name].releases.append(time)
        if states[name].releases.count > limit - states[name].holders { states[name].releases.removeFirst() }
        return nil
    }

    /// Notes that a holder of `name` ended without a seen release (a `409`
    /// on release, a dropped connection): the next grant is no handoff.
    public mutating func abandoned(name: Int) {
        states[name].holders = max(0, states[name].holders - 1)
        if !states[name].earlyGrants.isEmpty { states[name].earlyGrants.removeFirst() }
        states[name].releases.removeAll()
    }
}
