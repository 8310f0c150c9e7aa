/// The last few leases a ``LeaseLedger`` counted, in a short list read from
/// the end, before they go into its ``LeaseTable``: most leases a client
/// takes and gives back within moments end while still here, found by a
/// scan of a few hashes rather than placed in the table's name index and
/// timer wheel and taken out again (~0.6 k instructions an acquire →
/// release cycle). Each lease is here or in the table, never in both. The
/// list holds at most ``capacity``: the ledger puts a grant into the table
/// itself while the list is full, and every sweep moves the list into the
/// table first, so that nothing here escapes an expiry (what stays here
/// past a sweep is at most a second's grants).
struct RecentLeases {
    /// A lease as the ledger keeps it.
    struct Entry {
        /// The name's hash (``LockName/_rawHashValue(seed:)``): compared
        /// first, so a scan reads no name or token but the one that matches.
        let key: Int
        var name: LockName
        var token: LeaseToken
        var times: LeaseTable.Times
    }

    /// The most leases kept: as many as clients that each hold one lease
    /// at a time (a benchmark's connections) still fit, and a scan of
    /// them all costs less than the table's index.
    static let capacity = 64

    private var entries: [Entry] = []

    /// Entries held.
    var count: Int { entries.count }
    var isFull: Bool { entries.count >= Self.capacity }

    init() {
        entries.reserveCapacity(Self.capacity)
    }

    /// Adds a lease (the list is not full).
    mutating func add(_ name: LockName, token: LeaseToken, times: LeaseTable.Times) {
        entries.append(Entry(key: Self.key(of: name), name: name, token: token, times: times))
    }

    /// Moves the lease's expiry; false when it is not here.
    mutating func setExpiry(_ name: LockName, token: LeaseToken, to expiresAt: UInt64) -> Bool {
        guard let index = find(name, token: token) else { return false }
        entries[index].times.expiresAt = expiresAt
        return true
    }

    /// Removes the lease; its times, or nil when it is not here.
    mutating func remove(_ name: LockName, token: LeaseToken) -> LeaseTable.Times? {
        guard let index = find(name, token: token) else { return nil }
        let times = entries[index].times
        // The last entry takes its place: the order of entries means nothing.
        let last = entries.count - 1
        if index != last { entries.swapAt(index, last) }
        entries.removeLast()
        return times
    }

    /// Removes every entry, last first, handing each to `body`.
    mutating func removeAll(_ body: (consuming Entry) -> Void) {
        while let entry = entries.popLast() { body(entry) }
    }

    /// The position of a lease of `name` with `token`, the latest added first.
    private func find(_ name: LockName, token: LeaseToken) -> Int? {
        let key = Self.key(of: name)
        var index = entries.count - 1
        while index >= 0 {
            if entries[index].key == key, entries[index].name == name, entries[index].token == token { return index }
            index -= 1
        }
        return nil
    }

    private static func key(of name: LockName) -> Int {
        name._rawHashValue(seed: 0)
    }
}
