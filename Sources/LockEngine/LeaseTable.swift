/// The leases of a ``LeaseLedger``, found by name and token and kept in
/// order of when they fall due, so that ending the ones past due reads only
/// those (and the few that share their slice of time), never every lease.
///
/// Entries live in one array; freed places are reused. Each entry is linked
/// into the list of its name (a name's first entry is found through the
/// name index, a ``TaggedIndex`` over the entries themselves, see
/// ``heads``) and into a bucket of a
/// timer wheel: `bucketCount` buckets of `2^tickShift` ns each (0.27 s;
/// one lap is 69 s), the bucket of its due time. Adding, moving and
/// removing an entry relinks it in constant time. Ending the due entries
/// walks the buckets from the last such walk's up to now's; an entry due
/// more than a lap ahead shares a bucket with nearer ones and is passed
/// over until its lap comes.
struct LeaseTable {
    /// When a lease was granted and when it expires (monotonic ns).
    struct Times: Equatable {
        var grantedAt: UInt64
        var expiresAt: UInt64
    }

    private struct Slot {
        /// Nil while the place is free (so that it holds on to no text).
        var token: LeaseToken?
        /// The name, as its ``LeaseTable/hash(of:)``: no copy of the name
        /// is kept. Each was retained at a grant and released at the
        /// lease's end — for a lease swept a second after it expired, a
        /// cache miss on the name's storage (one a lease at 10^5 leases),
        /// the store having let go of the same name at another time. Its
        /// low 32 bits are the name's tag in ``heads``.
        var name: UInt64
        var times: Times
        /// Neighbours in the wheel bucket (a free place: `next` is the next free one).
        var previous: Int32 = -1
        var next: Int32 = -1
        /// The name's next and previous entries: both, so that an entry
        /// leaves its name's list in constant time however many it holds.
        var sameName: Int32 = -1
        var previousSameName: Int32 = -1
    }

    static let tickShift: UInt64 = 28
    static let bucketCount = 256

    /// How long after its expiry an entry falls due.
    let grace: UInt64
    private var slots: [Slot] = []
    private var freeHead: Int32 = -1
    /// Each name's first entry, placed by the name's tag (``TaggedIndex``).
    /// The name is the entry's own: a `[LockName: Int32]` kept a second
    /// copy of each name and cost a grant and a release ~0.3 k
    /// instructions of dictionary upkeep, where this costs about a third.
    /// Each place carries its name's tag: a probe passes over the other
    /// names' places, and a removal moves them, without reading their
    /// entries — each such read was a cache miss in a table of 10^5 leases.
    private var heads = TaggedIndex()
    /// Names in ``heads``.
    private var names = 0
    private var buckets = [Int32](repeating: -1, count: LeaseTable.bucketCount)
    /// The tick of the last walk: its bucket may hold entries that were not due yet.
    private var walkedTick: UInt64 = 0
    /// Entries held.
    private(set) var count = 0
    /// How many entries the last ``removeDue(now:)`` removed: the next one
    /// reserves as many at once (a second's expiries, much like the last
    /// second's), where its array grew step by step (each step a copy and
    /// an allocation: ~65 instructions a removed lease at 10^5 leases).
    private var lastDueCount = 0
    /// ``move(upTo:into:)`` has emptied every place from here on.
    private var drainedBelow = Int.max

    init(grace: UInt64) {
        self.grace = grace
    }

    /// An empty table that goes on where `table`'s wheel walks left off
    /// (``LeaseLedger``'s successor to a table it retires).
    init(following table: LeaseTable) {
        self.init(grace: table.grace)
        walkedTick = table.walkedTick
        lastDueCount = table.lastDueCount
    }

    /// Adds a lease; a name may have several (a semaphore's, readers').
    mutating func add(_ name: LockName, token: LeaseToken, times: Times) {
        add(hash: Self.hash(of: name), token: token, times: times)
    }

    /// ``add(_:token:times:)`` of the name with `hash` (``hash(of:)``).
    @inline(__always)
    private mutating func add(hash: UInt64, token: LeaseToken, times: Times) {
        let tag = Self.tag(of: hash)
        let index = allocate(name: hash, token: token, times: times)
        let head: Int32
        switch Self.probe(for: hash, in: heads, slots: slots) {
        case .found(let place, let first):
            head = Int32(truncatingIfNeeded: first)
            heads.setIndex(at: place, to: index)
        case .free(let place):
            head = -1
            heads.add(tag: tag, index: index, at: place, beside: names)
            names += 1
        }
        slots[index].sameName = head
        if head >= 0 { slots[Int(head)].previousSameName = Int32(index) }
        link(index)
        count += 1
    }

    /// Moves the lease's expiry, if there is such a lease; whether there is.
    @discardableResult
    mutating func setExpiry(_ name: LockName, token: LeaseToken, to expiresAt: UInt64) -> Bool {
        guard case .found(_, let first) = Self.probe(for: Self.hash(of: name), in: heads, slots: slots),
              let found = Self.find(token, from: first, in: slots) else { return false }
        unlink(found)
        slots[found].times.expiresAt = expiresAt
        link(found)
        return true
    }

    /// Removes the lease; its times, or nil when there is no such lease.
    mutating func remove(_ name: LockName, token: LeaseToken) -> Times? {
        guard case .found(let place, let first) = Self.probe(for: Self.hash(of: name), in: heads, slots: slots),
              let found = Self.find(token, from: first, in: slots)
        else { return nil }
        let times = slots[found].times
        unchain(found, place: place)
        unlink(found)
        release(found)
        return times
    }

    /// Removes every lease due by `now` (expired, grace included); the
    /// removed leases' times, in no particular order. `shrinking`: rebuilt
    /// small after, if oversized (``shrinkIfOversized()``; the ledger
    /// retires an oversized table instead: ``LeaseLedger``).
    mutating func removeDue(now: UInt64, shrinking: Bool = true) -> [Times] {
        let tick = now >> Self.tickShift
        // The walked tick's bucket again (it was partly due), and every one
        // up to now's; a whole lap when time passed a lap (or went back).
        let ticks = tick >= walkedTick ? min(tick - walkedTick + 1, UInt64(Self.bucketCount)) : UInt64(Self.bucketCount)
        var removed: [Times] = []
        removed.reserveCapacity(lastDueCount)
        for step in 0..<ticks {
            var index = buckets[Self.bucket(ofTick: walkedTick &+ step)]
            while index >= 0 {
                let slot = Int(index)
                index = slots[slot].next
                // Only held entries are linked into the wheel.
                guard due(slot) <= now else { continue }
                removed.append(slots[slot].times)
                unlink(slot)
                unchain(slot)
                release(slot)
            }
        }
        walkedTick = tick
        lastDueCount = removed.count
        if shrinking { shrinkIfOversized() }
        return removed
    }

    /// The fewest places the table is rebuilt at (``shrinkIfOversized()``).
    static let minimumRoom = 4_096

    /// How many leases the table has room for (tests read it).
    var room: Int { max(slots.count, heads.places / 2) }

    /// Four times larger than its leases need (and than ``minimumRoom``).
    var isOversized: Bool { room > 4 * max(count, Self.minimumRoom) }

    /// Moves up to `limit` of its leases into `other` (as they are: times,
    /// name and token), the last places first; how many it moved.
    mutating func move(upTo limit: Int, into other: inout LeaseTable) -> Int {
        var moved = 0
        var index = min(drainedBelow, slots.count) &- 1
        while index >= 0, moved < limit {
            if let token = slots[index].token {
                other.add(hash: slots[index].name, token: token, times: slots[index].times)
                unlink(index)
                unchain(index)
                release(index)
                moved &+= 1
            }
            index &-= 1
        }
        drainedBelow = index &+ 1
        return moved
    }

    /// Rebuilt as small as its leases allow once four times larger than
    /// they need (and than ``minimumRoom``): freed places are reused but
    /// never given back, so after a burst of leases the table (80 bytes a
    /// place, and its index) would stay at the burst's size for good.
    /// Looked at by each ``removeDue(now:)`` (a second apart at most); a
    /// copy of every lease, after such a burst only.
    private mutating func shrinkIfOversized() {
        guard isOversized else { return }
        var smaller = LeaseTable(grace: grace)
        smaller.walkedTick = walkedTick
        smaller.lastDueCount = lastDueCount
        smaller.slots.reserveCapacity(count)
        for slot in slots {
            // A free place holds no token.
            guard let token = slot.token else { continue }
            smaller.add(hash: slot.name, token: token, times: slot.times)
        }
        self = smaller
    }

    // MARK: The name's list

    /// The entry of `token` in the list starting at `head`. Static, over
    /// the slots alone: a method of the table, called from a mutating one,
    /// was handed a copy of the whole table (~200 instructions a release).
    private static func find(_ token: LeaseToken, from head: Int, in slots: [Slot]) -> Int? {
        var index = head
        while index >= 0 {
            if let other = slots[index].token, other == token { return index }
            index = Int(slots[index].sameName)
        }
        return nil
    }

    /// Takes `index` out of its name's list (at `place` in ``heads``, when
    /// the caller found it; else looked up, if the entry heads the list).
    private mutating func unchain(_ index: Int, place: Int? = nil) {
        let previous = slots[index].previousSameName
        let next = slots[index].sameName
        if previous >= 0 {
            slots[Int(previous)].sameName = next
        } else if let place = place ?? heads.place(of: index, tag: Self.tag(of: slots[index].name)) {
            if next >= 0 {
                heads.setIndex(at: place, to: Int(next))
            } else {
                // Counted first: the removal is then the call's tail (~7 instructions a release).
                names -= 1
                heads.remove(at: place)
            }
        } else {
            // A list's first entry is in the index: one that is not is a
            // broken index (debug builds stop; release ones leave it be).
            assertionFailure("a name list's first entry is not in the name index")
        }
        if next >= 0 { slots[Int(next)].previousSameName = previous }
    }

    // MARK: The name index

    /// What the table knows a name by: its hash for this table, 64 bits
    /// of a bijection of the name's seeded SipHash (``LockName/_rawHashValue(seed:)``),
    /// unknown outside the process. Two names are told apart by it alone:
    /// names whose hashes agree in all 64 bits (about one pair in 10^10 at
    /// 10^5 live names, not to be found on purpose) would share their
    /// leases' entries here — the ledger's figures, never a lock.
    private static func hash(of name: LockName) -> UInt64 {
        UInt64(UInt(bitPattern: name._rawHashValue(seed: 0)))
    }

    /// The bits of a name's hash the index keeps: where the name is placed
    /// (its low bits, in tables up to 2^32 places long) and what tells it
    /// from most other names at a glance.
    private static func tag(of hash: UInt64) -> UInt32 {
        UInt32(truncatingIfNeeded: hash)
    }

    /// Looks for the name with `hash` in `heads`: an entry is read only
    /// where the tag matches. Static, over the arrays alone, as
    /// ``find(_:from:in:)``.
    private static func probe(for hash: UInt64, in heads: TaggedIndex, slots: [Slot]) -> TaggedIndex.Probe {
        heads.probe(tag: tag(of: hash)) { slots[$0].name == hash }
    }

    // MARK: The wheel

    private func due(_ index: Int) -> UInt64 {
        slots[index].times.expiresAt &+ grace
    }

    private static func bucket(ofTick tick: UInt64) -> Int {
        Int(truncatingIfNeeded: tick) & (bucketCount - 1)
    }

    private mutating func link(_ index: Int) {
        let bucket = Self.bucket(ofTick: due(index) >> Self.tickShift)
        let head = buckets[bucket]
        slots[index].previous = -1
        slots[index].next = head
        if head >= 0 { slots[Int(head)].previous = Int32(index) }
        buckets[bucket] = Int32(index)
    }

    private mutating func unlink(_ index: Int) {
        let previous = slots[index].previous
        let next = slots[index].next
        if previous >= 0 {
            slots[Int(previous)].next = next
        } else {
            buckets[Self.bucket(ofTick: due(index) >> Self.tickShift)] = next
        }
        if next >= 0 { slots[Int(next)].previous = previous }
    }

    // MARK: Places

    /// A place for a new entry (its links are the caller's to set). A
    /// freed place holds no token (``release(_:)``): its fields
    /// are written one by one, where a whole slot assigned there went
    /// through the slot's outlined assign (the old slot destroyed, the new
    /// one moved in: ~70 instructions a grant).
    private mutating func allocate(name: UInt64, token: LeaseToken, times: Times) -> Int {
        guard freeHead >= 0 else {
            slots.append(Slot(token: token, name: name, times: times))
            return slots.count - 1
        }
        let index = Int(freeHead)
        freeHead = slots[index].next
        slots[index].name = name
        slots[index].token = token
        slots[index].times = times
        slots[index].previousSameName = -1
        return index
    }

    private mutating func release(_ index: Int) {
        slots[index].token = nil
        slots[index].next = freeHead
        freeHead = Int32(index)
        count -= 1
    }
}
