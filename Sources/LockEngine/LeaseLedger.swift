import CoreMetrics
import Synchronization

/// The leases this process granted and has not yet seen end, for the
/// `lockd_locks_held` gauge, `lockd_hold_duration_seconds` (grant to release
/// or expiry) and `lockd_leases_expired_total`.
///
/// Expiry is decided by the store and announced by nothing, so a lease counts
/// as expired once its TTL (on this process's monotonic clock, plus a second
/// of grace for a renewal in flight) has passed without a renew or release
/// through this process. A lease renewed or released through another lockd
/// instance therefore counts as expired here: the figures are per instance.
///
/// Entries are found by name, then by token in constant time, so no lookup
/// depends on a token's hash. Expired entries are swept at most once a
/// second, by the next grant or by a scrape.
final class LeaseLedger: Sendable {
    fileprivate struct Entry {
        var token: LeaseToken
        var grantedAt: UInt64
        var expiresAt: UInt64
    }

    fileprivate struct State {
        var entries: [LockName: [Entry]] = [:]
        var count = 0
        var lastSweep: UInt64 = 0
    }

    fileprivate static let grace: UInt64 = 1_000_000_000
    private static let sweepInterval: UInt64 = 1_000_000_000

    private let state = Mutex(State())
    private let held: Gauge
    private let holds: Timer
    private let expired: Counter

    init(factory: any MetricsFactory) {
        held = Gauge(label: "lockd_locks_held", factory: factory)
        holds = Timer(label: "lockd_hold_duration_seconds", factory: factory)
        expired = Counter(label: "lockd_leases_expired_total", factory: factory)
    }

    /// Leases held now, as far as this process knows.
    var count: Int { state.withLock { $0.count } }

    func granted(_ lease: Lease, isRetry: Bool, now: UInt64) {
        let expiresAt = now &+ UInt64(max(0, lease.ttlMs)) &* 1_000_000
        let (count, ended) = state.withLock { state -> (Int, [UInt64]) in
            if isRetry {
                // Only the grant that started a lease starts its hold; a
                // retry through another instance is not a new lease.
                state.update(lease.name, token: lease.token) { $0.expiresAt = expiresAt }
            } else {
                state.entries[lease.name, default: []].append(Entry(token: lease.token, grantedAt: now, expiresAt: expiresAt))
                state.count += 1
            }
            let ended = now &- state.lastSweep >= Self.sweepInterval ? state.sweep(now: now) : []
            return (state.count, ended)
        }
        report(count, expiredHolds: ended)
    }

    func renewed(_ lease: Lease, now: UInt64) {
        let expiresAt = now &+ UInt64(max(0, lease.ttlMs)) &* 1_000_000
        state.withLock { $0.update(lease.name, token: lease.token) { $0.expiresAt = expiresAt } }
    }

    func released(_ name: LockName, token: LeaseToken, now: UInt64) {
        let (count, entry) = state.withLock { ($0.count, $0.remove(name, token: token)) }
        guard let entry else { return }
        holds.recordNanoseconds(Int64(clamping: now &- entry.grantedAt))
        held.record(count - 1)
    }

    /// A renew or release found the lease gone: it expired before its TTL
    /// ran out here (or another instance released it).
    func lost(_ name: LockName, token: LeaseToken, now: UInt64) {
        let (count, entry) = state.withLock { ($0.count, $0.remove(name, token: token)) }
        guard let entry else { return }
        report(count - 1, expiredHolds: [min(now, entry.expiresAt) &- entry.grantedAt])
    }

    func sweep(now: UInt64) {
        let (count, ended) = state.withLock { state in
            let ended = state.sweep(now: now)
            return (state.count, ended)
        }
        report(count, expiredHolds: ended)
    }

    private func report(_ count: Int, expiredHolds: [UInt64]) {
        for hold in expiredHolds {
            expired.increment()
            holds.recordNanoseconds(Int64(clamping: hold))
        }
        held.record(count)
    }
}

extension LeaseLedger.State {
    fileprivate mutating func update(_ name: LockName, token: LeaseToken, _ change: (inout LeaseLedger.Entry) -> Void) {
        guard var list = entries[name], let index = list.firstIndex(where: { sameToken($0.token, token) }) else { return }
        change(&list[index])
        entries[name] = list
    }

    fileprivate mutating func remove(_ name: LockName, token: LeaseToken) -> LeaseLedger.Entry? {
        guard let list = entries[name], let index = list.firstIndex(where: { sameToken($0.token, token) }) else { return nil }
        count -= 1
        guard list.count > 1 else {
            entries[name] = nil
            return list[index]
        }
        return entries[name]?.remove(at: index)
    }

    /// Removes every entry past its expiry and grace; returns their holds.
    fileprivate mutating func sweep(now: UInt64) -> [UInt64] {
        lastSweep = now
        var holds: [UInt64] = []
        // Changes wait for the loop's end: writing into `entries` while
        // iterating it copies the whole dictionary (tens of thousands of
        // names under load).
        var changes: [(LockName, [LeaseLedger.Entry])] = []
        for (name, list) in entries where list.contains(where: { $0.expiresAt &+ LeaseLedger.grace <= now }) {
            let kept = list.filter { $0.expiresAt &+ LeaseLedger.grace > now }
            for entry in list where entry.expiresAt &+ LeaseLedger.grace <= now {
                holds.append(entry.expiresAt &- entry.grantedAt)
            }
            count -= list.count - kept.count
            changes.append((name, kept))
        }
        for (name, kept) in changes { entries[name] = kept.isEmpty ? nil : kept }
        return holds
    }
}

/// Whether two tokens are equal, in time independent of where they differ
/// (as `LeaseToken`'s own `==`), without copying either.
private func sameToken(_ lhs: LeaseToken, _ rhs: LeaseToken) -> Bool {
    var left = lhs.value
    var right = rhs.value
    return left.withUTF8 { left in
        right.withUTF8 { right in
            var difference = UInt8(truncatingIfNeeded: left.count ^ right.count)
            for index in 0..<min(left.count, right.count) { difference |= left[index] ^ right[index] }
            return difference == 0
        }
    }
}
