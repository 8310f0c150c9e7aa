/// The in-memory store's records by name: each name and its record side by
/// side in one array of entries, found through an index of tagged places
/// (open addressing, linear probing, at most half full) — the lease
/// ledger's layout (``LeaseTable``).
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

    /// A place of the index: an entry and its name's tag; `index` -1 where free.
    private struct Head {
        var tag: UInt32
        var index: Int32

        static let none = Head(tag: 0, index: -1)
    }

    private var entries: [Entry] = []
    /// A power of two long (or empty), at most half full.
    private var heads: [Head] = []

    /// Creates an empty table; its first insert makes room.
    init() {}

    /// Names held.
    var count: Int { entries.count }

    /// How many names the table has room for before it grows (the larger
    /// of its two arrays' room).
    var capacity: Int { max(heads.count / 2, entries.capacity) }

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
        case .free(var head):
            if (entries.count &+ 1) &* 2 > heads.count {
                rebuildIndex(places: max(16, heads.count &* 2))
                head = Self.freePlace(for: tag, in: heads)
            }
            let index = entries.count
            heads[head] = Head(tag: tag, index: Int32(truncatingIfNeeded: index))
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
        heads = [Head](repeating: .none, count: size)
        for index in entries.indices {
            let tag = Self.tag(of: entries[index].name)
            heads[Self.freePlace(for: tag, in: heads)] = Head(tag: tag, index: Int32(truncatingIfNeeded: index))
        }
    }

    // MARK: The index

    /// The bits of a name's hash the index keeps: the name's place (the
    /// low bits, in indexes below 2^31 places) and what tells it from most
    /// other names at a glance.
    private static func tag(of name: LockName) -> UInt32 {
        UInt32(truncatingIfNeeded: name._rawHashValue(seed: 1))
    }

    private static func home(of tag: UInt32, count: Int) -> Int {
        Int(tag) & (count &- 1)
    }

    /// What a probe for a name found: its index place and entry, or the
    /// free place that ends its run (-1 in an empty index).
    private enum Probe {
        case found(head: Int, index: Int)
        case free(Int)
    }

    private func probe(for name: LockName, tag: UInt32) -> Probe {
        guard !heads.isEmpty else { return .free(-1) }
        let mask = heads.count &- 1
        var place = Self.home(of: tag, count: heads.count)
        while true {
            let head = heads[place]
            guard head.index >= 0 else { return .free(place) }
            if head.tag == tag, entries[Int(head.index)].name == name { return .found(head: place, index: Int(head.index)) }
            place = (place &+ 1) & mask
        }
    }

    /// The index place pointing at entry `index` (found by its tag, no name compared).
    private func head(of index: Int) -> Int {
        let tag = Self.tag(of: entries[index].name)
        let mask = heads.count &- 1
        var place = Self.home(of: tag, count: heads.count)
        while heads[place].index != Int32(truncatingIfNeeded: index) {
            precondition(heads[place].index >= 0, "an entry is missing from the records' index")
            place = (place &+ 1) & mask
        }
        return place
    }

    /// The index place of entry `index` now points at `place`.
    private mutating func reindex(_ index: Int, as place: Int) {
        heads[head(of: index)].index = Int32(truncatingIfNeeded: place)
    }

    /// Frees entry `index`'s index place, moving back the places past it
    /// that would no longer be found (backward-shift deletion: no
    /// tombstones, probes stay short), by their tags alone.
    private mutating func unindex(_ index: Int) {
        let mask = heads.count &- 1
        var hole = head(of: index)
        var next = (hole &+ 1) & mask
        while heads[next].index >= 0 {
            let home = Self.home(of: heads[next].tag, count: heads.count)
            // Movable into the hole unless its home lies after the hole, up to `next` (cyclically).
            let stays = hole <= next ? (hole < home && home <= next) : (hole < home || home <= next)
            if !stays {
                heads[hole] = heads[next]
                hole = next
            }
            next = (next &+ 1) & mask
        }
        heads[hole] = .none
    }

    /// The first free place from `tag`'s home on (there is one: the index is at most half full).
    private static func freePlace(for tag: UInt32, in heads: [Head]) -> Int {
        let mask = heads.count &- 1
        var place = home(of: tag, count: heads.count)
        while heads[place].index >= 0 { place = (place &+ 1) & mask }
        return place
    }

    /// A larger index (`size` places, a power of two), every place moved by its tag: no entry is read.
    private mutating func rebuildIndex(places size: Int) {
        precondition(size <= 1 << 31, "tags place names in indexes below 2^31 places")
        let old = heads
        heads = [Head](repeating: .none, count: size)
        for head in old where head.index >= 0 {
            heads[Self.freePlace(for: head.tag, in: heads)] = head
        }
    }
}
