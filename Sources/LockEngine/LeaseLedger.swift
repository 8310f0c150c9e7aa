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
        /// One lease of each name: most names have only one, so a grant
        /// allocates nothing and a sweep reads one flat table.
        var first: [LockName: Entry] = [:]
        /// A name's other leases (a semaphore's, readers'), in no order.
        var more: [LockName: [Entry]] = [:]
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
                state.add(Entry(token: lease.token, grantedAt: now, expiresAt: expiresAt), for: lease.name)
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
        // One increment for a sweep's expiries (tens of thousands a second
        // under load), each hold recorded.
        if !expiredHolds.isEmpty { expired.increment(by: Int64(expiredHolds.count)) }
        for hold in expiredHolds { holds.recordNanoseconds(Int64(clamping: hold)) }
        held.record(count)
    }
}

extension LeaseLedger.State {
    fileprivate mutating func add(_ entry: LeaseLedger.Entry, for name: LockName) {
        count += 1
        // One hash for a name's first lease; a second one moves aside.
        if let other = first.updateValue(entry, forKey: name) { more[name, default: []].append(other) }
    }

    fileprivate mutating func update(_ name: LockName, token: LeaseToken, _ change: (inout LeaseLedger.Entry) -> Void) {
        if let entry = first[name], sameToken(entry.token, token) {
            change(&first[name, default: entry])
        } else if var list = more[name], let index = list.firstIndex(where: { sameToken($0.token, token) }) {
            change(&list[index])
            more[name] = list
        }
    }

    fileprivate mutating func remove(_ name: LockName, token: LeaseToken) -> LeaseLedger.Entry? {
        guard let entry = first[name] else { return nil }
        if sameToken(entry.token, token) {
            count -= 1
            promote(name)
            return entry
        }
        guard var list = more[name], let index = list.firstIndex(where: { sameToken($0.token, token) }) else { return nil }
        count -= 1
        let removed = list.remove(at: index)
        more[name] = list.isEmpty ? nil : list
        return removed
    }

    /// The name's entry in `first` ended: another of its leases, if any, takes its place.
    private mutating func promote(_ name: LockName) {
        guard var list = more.removeValue(forKey: name), let next = list.popLast() else {
            first[name] = nil
            return
        }
        first[name] = next
        if !list.isEmpty { more[name] = list }
    }

    /// Removes every entry past its expiry and grace; returns their holds.
    fileprivate mutating func sweep(now: UInt64) -> [UInt64] {
        lastSweep = now
        var holds: [UInt64] = []
        func ended(_ entry: LeaseLedger.Entry) -> Bool { entry.expiresAt &+ LeaseLedger.grace <= now }
        // Changes wait for the loops' end: writing into a dictionary while
        // iterating it copies the whole dictionary.
        var keptMore: [(LockName, [LeaseLedger.Entry])] = []
        for (name, list) in more where list.contains(where: ended) {
            let kept = list.filter { !ended($0) }
            for entry in list where ended(entry) { holds.append(entry.expiresAt &- entry.grantedAt) }
            keptMore.append((name, kept))
        }
        for (name, kept) in keptMore { more[name] = kept.isEmpty ? nil : kept }
        var endedFirst: [LockName] = []
        for (name, entry) in first where ended(entry) {
            holds.append(entry.expiresAt &- entry.grantedAt)
            endedFirst.append(name)
        }
        // Without other leases anywhere, an ended one is simply removed:
        // `promote` would hash each name again only to find nothing.
        if more.isEmpty {
            for name in endedFirst { first[name] = nil }
        } else {
            for name in endedFirst { promote(name) }
        }
        count -= holds.count
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
