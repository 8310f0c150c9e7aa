/// An open-addressing index of names into a table's entries, shared by the
/// in-memory store's records (``InMemoryRecordTable``) and the lease
/// ledger's names (``LeaseTable``): each place holds an entry's index and
/// its name's 32-bit tag (8 bytes a place; linear probing; a power of two
/// long and at most half full).
///
/// The tag is the name's place (its low bits) and what tells it from most
/// other names at a glance: a probe reads an entry only where the tag
/// matches, and a removal or a growth moves places by their tags alone —
/// in a table of 10^5 names each entry read is a cache miss. The names
/// themselves stay in the owner's entries; the owner hands in tags and,
/// to tell a tag's namesakes apart, a look at an entry.
struct TaggedIndex {
    /// A place: an entry's index and its name's tag; `index` -1 where free.
    struct Head {
        var tag: UInt32
        var index: Int32

        static let none = Head(tag: 0, index: -1)
    }

    /// What a probe found: the place and the entry of the name, or the free
    /// place that ends its run (where the name would go; -1 in an empty index).
    enum Probe {
        case found(place: Int, index: Int)
        case free(Int)
    }

    private var heads: [Head] = []

    /// An empty index; its first ``add(tag:index:at:beside:)`` makes room.
    init() {}

    /// How many places it has (names fit in half of them).
    var places: Int { heads.count }

    private static func home(of tag: UInt32, count: Int) -> Int {
        Int(tag) & (count &- 1)
    }

    /// Looks for a name with `tag`: `isName` is asked of each entry whose
    /// tag matches. Inlined: a call of its own, its closure was a context
    /// made and called for every probe.
    @inline(__always)
    func probe(tag: UInt32, isName: (Int) -> Bool) -> Probe {
        guard !heads.isEmpty else { return .free(-1) }
        let mask = heads.count &- 1
        var place = Self.home(of: tag, count: heads.count)
        while true {
            let head = heads[place]
            guard head.index >= 0 else { return .free(place) }
            if head.tag == tag, isName(Int(head.index)) { return .found(place: place, index: Int(head.index)) }
            place = (place &+ 1) & mask
        }
    }

    /// Places a name not in the index (`place`: the free place its probe
    /// found), pointing at entry `index`; `held`: the names in the index
    /// before it. Grows the index first when it would be more than half full.
    @inline(__always)
    mutating func add(tag: UInt32, index: Int, at place: Int, beside held: Int) {
        var place = place
        if (held &+ 1) &* 2 > heads.count {
            rebuild(places: max(16, heads.count &* 2))
            place = freePlace(for: tag)
        }
        heads[place] = Head(tag: tag, index: Int32(truncatingIfNeeded: index))
    }

    /// The entry `place` points at.
    func index(at place: Int) -> Int { Int(heads[place].index) }

    /// Points `place` at entry `index` (its name unchanged).
    @inline(__always)
    mutating func setIndex(at place: Int, to index: Int) {
        heads[place].index = Int32(truncatingIfNeeded: index)
    }

    /// The place pointing at entry `index` (its name's tag `tag`): found by
    /// the entry, no name compared; nil if none does. Inlined: its
    /// optional then costs nothing (out of line, ~14 instructions a look).
    @inline(__always)
    func place(of index: Int, tag: UInt32) -> Int? {
        guard !heads.isEmpty else { return nil }
        let wanted = Int32(truncatingIfNeeded: index)
        let mask = heads.count &- 1
        var place = Self.home(of: tag, count: heads.count)
        while heads[place].index >= 0 {
            if heads[place].index == wanted { return place }
            place = (place &+ 1) & mask
        }
        return nil
    }

    /// Frees `place`, moving back the places past it that would no longer
    /// be found (backward-shift deletion: no tombstones, probes stay
    /// short), by their tags alone.
    mutating func remove(at place: Int) {
        let mask = heads.count &- 1
        var hole = place
        var next = (place &+ 1) & mask
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

    /// An index of `size` places (a power of two), every name moved by its tag.
    mutating func rebuild(places size: Int) {
        precondition(size <= 1 << 31, "tags place names in indexes below 2^31 places")
        let old = heads
        heads = [Head](repeating: .none, count: size)
        for head in old where head.index >= 0 {
            heads[freePlace(for: head.tag)] = head
        }
    }

    /// An empty index of `size` places (a power of two), for names placed
    /// again with ``place(tag:index:)``.
    mutating func clear(places size: Int) {
        precondition(size <= 1 << 31, "tags place names in indexes below 2^31 places")
        heads = [Head](repeating: .none, count: size)
    }

    /// Places a name known not to be in the index (there is room: see ``clear(places:)``).
    mutating func place(tag: UInt32, index: Int) {
        heads[freePlace(for: tag)] = Head(tag: tag, index: Int32(truncatingIfNeeded: index))
    }

    /// The first free place from `tag`'s home on (there is one: the index is at most half full).
    private func freePlace(for tag: UInt32) -> Int {
        let mask = heads.count &- 1
        var place = Self.home(of: tag, count: heads.count)
        while heads[place].index >= 0 { place = (place &+ 1) & mask }
        return place
    }
}
