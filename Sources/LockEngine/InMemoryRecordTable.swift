/// The in-memory store's records by name: each name and its record side by
/// side in one array of entries, found through an index of tagged places
/// (``TaggedIndex``, the lease ledger's too: ``LeaseTable``).
///
/// A `[LockName: InMemoryLockRecord]` keeps its occupancy bitmap, its keys
/// and its values in three arrays, so a fresh name's lookup and insert
/// touched three places in memory — in a table of 10^5 names, three cache
/// misses — and a sweep could not remove a record where it read it: it
/// listed the ended names (each name retained and released) and removed
/// each by name (hashed and found again, and every name a removal moved
/// back hashed again). Here a fresh name's entry is appended
/// where the last one was written (a line in cache) and its index place
/// written once; the index's places carry their names' tags, so a probe
/// reads an entry only where the tag matches, and a removal or a growth of
/// the index moves places by their tags without reading any entry; a sweep
/// (``removeAll(where:handing:)``) reads the entries in order and removes
/// each ended one where it stands, moving the last entry into its place.
///
/// A place (an entry's index, an `Int`) stays valid until the next
/// removal, as a dictionary's index does until the next change.
struct InMemoryRecordTable {
    typealias Record = InMemoryLockRecord

    private struct Entry {
        var name: LockName
        var record: Record
    }

    private var entries: [Entry] = []
    /// Each entry's place by its name (``TaggedIndex``).
    private var byName = TaggedIndex()

    /// Creates an empty table; its first insert makes room.
    init() {}

    /// Names held.
    var count: Int { entries.count }

    /// How many names the table has room for before it grows (the larger
    /// of its two arrays' room).
    var capacity: Int { max(byName.places / 2, entries.capacity) }

    /// The place of `name`'s record, or nil.
    func place(of name: LockName) -> Int? {
        guard case .found(_, let index) = probe(for: name, tag: Self.tag(of: name)) else { return nil }
        return index
    }

    /// The place of `name`'s record, made (an empty record) if there is none.
    mutating func placeAdding(_ name: LockName) -> Int {
        let tag = Self.tag(of: name)
        switch probe(for: name, tag: tag) {
        case .found(_, let index):
            return index
        case .free(let place):
            let index = entries.count
            byName.add(tag: tag, index: index, at: place, beside: index)
            entries.append(Entry(name: name, record: Record()))
            return index
        }
    }

    /// The record at `place` (a place that holds one), read or changed where it is stored.
    subscript(place: Int) -> Record {
        _read { yield entries[place].record }
        _modify { yield &entries[place].record }
    }

    /// Removes the name at `place`; returns its record's lease array,
    /// moved out (all a caller keeps of a removed record). The last entry
    /// moves into the place.
    @discardableResult
    mutating func remove(at place: Int) -> [Record.StoredLease] {
        var leases: [Record.StoredLease] = []
        swap(&leases, &entries[place].record.leases)
        unindex(place)
        let last = entries.count &- 1
        if place != last { reindex(last, as: place) }
        // Moved out of the array, then into the removed entry's place,
        // which it destroys (the name, the emptied record).
        let moved = entries.removeLast()
        if place != last { entries[place] = moved }
        return leases
    }

    /// Removes every record `ends` says has ended, handing each to
    /// `removed` as it goes: one pass over the entries in order, each
    /// read once where it is stored.
    mutating func removeAll(where ends: (borrowing Record) -> Bool, handing removed: (inout Record) -> Void) {
        var place = 0
        while place < entries.count {
            guard ends(entries[place].record) else {
                place &+= 1
                continue
            }
            removed(&entries[place].record)
            remove(at: place)
            // The last entry moved here: read it next.
        }
    }

    /// Calls `body` with every record, changed where it is stored, in no
    /// particular order.
    mutating func updateEach(_ body: (inout Record) -> Void) {
        for index in entries.indices {
            body(&entries[index].record)
        }
    }

    /// Calls `body` with every name and its record, in no particular order.
    func forEach(_ body: (LockName, Record) throws -> Void) rethrows {
        for entry in entries {
            try body(entry.name, entry.record)
        }
    }

    /// Rebuilt as small as its names allow once four times larger than
    /// `atLeast` and its names need: arrays never shrink as names leave
    /// them, so after a burst of fresh names the table would stay at the
    /// burst's size for good. A copy of every entry, after such a burst only.
    mutating func shrinkIfOversized(atLeast: Int) {
        guard capacity > 4 * max(count, atLeast) else { return }
        var smaller: [Entry] = []
        smaller.reserveCapacity(entries.count)
        smaller.append(contentsOf: entries)
        entries = smaller
        var size = 16
        while size / 2 < entries.count { size &*= 2 }
        // Placed again from the entries, in their order (not the old
        // index's, whose order follows the names' hashes: copied so into
        // a smaller index, names would pile up in its first places).
        byName.clear(places: size)
        for index in entries.indices {
            byName.place(tag: Self.tag(of: entries[index].name), index: index)
        }
    }

    // MARK: The index

    /// The bits of a name's hash the index keeps: the name's place (the
    /// low bits, in indexes below 2^31 places) and what tells it from most
    /// other names at a glance.
    private static func tag(of name: LockName) -> UInt32 {
        UInt32(truncatingIfNeeded: name._rawHashValue(seed: 1))
    }

    private func probe(for name: LockName, tag: UInt32) -> TaggedIndex.Probe {
        byName.probe(tag: tag) { entries[$0].name == name }
    }

    /// The index place pointing at entry `index` (found by its tag, no name compared).
    private func head(of index: Int) -> Int {
        guard let place = byName.place(of: index, tag: Self.tag(of: entries[index].name)) else {
            preconditionFailure("an entry is missing from the records' index")
        }
        return place
    }

    /// The index place of entry `index` now points at `place`.
    private mutating func reindex(_ index: Int, as place: Int) {
        byName.setIndex(at: head(of: index), to: place)
    }

    /// Frees entry `index`'s index place.
    private mutating func unindex(_ index: Int) {
        byName.remove(at: head(of: index))
    }
}
