/// The commands a connection sent (or is about to) and awaits replies to,
/// oldest first, each entry with its waiter: one queue, where two
/// ``FIFOQueue``s in step (entries, waiters) did every append and every take
/// twice — two uniqueness checks, two room checks, two head and count
/// updates (~95 instructions a command to append, ~80 a reply to take).
///
/// The entries and the waiters lie in two buffers of one ring, at the same
/// slot: an entry is a plain value, read and changed in place on every
/// reply, while a waiter is only moved in and out. Kept together as one
/// element, an entry holding its waiter was destroyed through its type's
/// value witness on every reply (~100 instructions), and its waiter copied
/// out of it first.
///
/// A value type: a copy's changes are its own (the ring is copied before
/// one that is shared changes).
struct ReplyQueue<Entry, Waiter> {
    private var ring = Ring(capacity: 4)

    var isEmpty: Bool { ring.count == 0 }
    var count: Int { ring.count }
    /// The oldest entry, copied.
    var first: Entry? { ring.count == 0 ? nil : ring.entry(0).pointee }

    /// Adds `entry` and its `waiter` (moved in) at the end. Inlined: the
    /// entry is then written into its slot where it is made, not built
    /// on the caller's stack and copied in by a call (~20 instructions).
    @inline(__always)
    mutating func append(_ entry: Entry, waiter: consuming Waiter) {
        makeUnique()
        ring.append(entry, waiter: waiter)
    }

    /// Takes the oldest entry and its waiter.
    mutating func popFirst() -> (entry: Entry, waiter: Waiter)? {
        guard ring.count > 0 else { return nil }
        makeUnique()
        return ring.popFirst()
    }

    /// Takes the oldest entry's waiter, dropping the entry unread (a
    /// reply read in place needs only the waiter: the entry moved out
    /// with it was copied twice on its way, ~15 instructions a reply).
    mutating func popFirstWaiter() -> Waiter? {
        guard ring.count > 0 else { return nil }
        makeUnique()
        return ring.popFirstWaiter()
    }

    /// Reads the oldest entry where it lies.
    func readFirst<Result>(_ body: (Entry) -> Result) -> Result? {
        guard ring.count > 0 else { return nil }
        return body(ring.entry(0).pointee)
    }

    /// Reads the oldest entry and its waiter where they lie.
    func readFirstAndWaiter<Result>(_ body: (Entry, Waiter) -> Result) -> Result? {
        guard ring.count > 0 else { return nil }
        return body(ring.entry(0).pointee, ring.waiter(0).pointee)
    }

    /// Gives access to the oldest entry in place.
    mutating func withFirst<Result>(_ body: (inout Entry) -> Result) -> Result? {
        guard ring.count > 0 else { return nil }
        makeUnique()
        return body(&ring.entry(0).pointee)
    }

    /// How far from the oldest the first entry matching `predicate` is.
    func firstOffset(where predicate: (Entry) -> Bool) -> Int? {
        (0..<ring.count).first { predicate(ring.entry($0).pointee) }
    }

    /// Gives access in place to the entry `offset` from the oldest; nil when there is none.
    mutating func withEntry<Result>(atOffset offset: Int, _ body: (inout Entry) -> Result) -> Result? {
        guard offset >= 0, offset < ring.count else { return nil }
        makeUnique()
        return body(&ring.entry(offset).pointee)
    }

    /// The waiter of the entry `offset` from the oldest, copied; nil when there is none.
    func waiter(atOffset offset: Int) -> Waiter? {
        guard offset >= 0, offset < ring.count else { return nil }
        return ring.waiter(offset).pointee
    }

    /// Takes the entry `offset` from the oldest and its waiter, keeping
    /// the order of the rest; `adjust` changes each later entry (given the
    /// removed one). Nil when there is none.
    mutating func remove(atOffset offset: Int, adjustingLater adjust: (Entry, inout Entry) -> Void = { _, _ in })
        -> (entry: Entry, waiter: Waiter)? {
        guard offset >= 0, offset < ring.count else { return nil }
        makeUnique()
        return ring.remove(atOffset: offset, adjustingLater: adjust)
    }

    /// Takes every entry with its waiter, oldest first.
    mutating func removeAll() -> [(entry: Entry, waiter: Waiter)] {
        var taken: [(entry: Entry, waiter: Waiter)] = []
        taken.reserveCapacity(count)
        makeUnique()
        while ring.count > 0 { taken.append(ring.popFirst()) }
        return taken
    }

    /// Copies the ring before a change when another queue shares it.
    private mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&ring) { ring = ring.copy() }
    }

    /// The two buffers and which of their slots hold an entry and its
    /// waiter: `count` of them from `head`, wrapping past the end.
    ///
    /// Unsafe memory, with an obvious lifetime (as ``FIFOQueue``'s ring):
    /// both buffers are allocated and freed by this object alone (what
    /// they hold deinitialized first), a slot of each is initialized and
    /// taken together, and no pointer into them outlives the queue method
    /// that takes it. The fields are `@exclusivity(unchecked)`: only the
    /// queue's methods touch them, and none lets a caller's closure reach
    /// the queue (a closure gets an entry or a waiter, not the queue).
    final class Ring {
        @exclusivity(unchecked) private var entries: UnsafeMutablePointer<Entry>
        @exclusivity(unchecked) private var waiters: UnsafeMutablePointer<Waiter>
        /// A power of two.
        @exclusivity(unchecked) private var capacity: Int
        @exclusivity(unchecked) private var head = 0
        @exclusivity(unchecked) private(set) var count = 0

        init(capacity: Int) {
            self.capacity = capacity
            entries = .allocate(capacity: capacity)
            waiters = .allocate(capacity: capacity)
        }

        deinit {
            while count > 0 { _ = popFirst() }
            entries.deallocate()
            waiters.deallocate()
        }

        /// The index of the slot `offset` from the oldest (`offset < count`).
        @inline(__always)
        private func index(_ offset: Int) -> Int {
            (head &+ offset) & (capacity &- 1)
        }

        /// The entry `offset` from the oldest (`offset < count`).
        @inline(__always)
        func entry(_ offset: Int) -> UnsafeMutablePointer<Entry> {
            entries + index(offset)
        }

        /// The waiter `offset` from the oldest (`offset < count`).
        @inline(__always)
        func waiter(_ offset: Int) -> UnsafeMutablePointer<Waiter> {
            waiters + index(offset)
        }

        @inline(__always)
        func append(_ entry: Entry, waiter: consuming Waiter) {
            if count == capacity { grow() }
            let slot = index(count)
            (entries + slot).initialize(to: entry)
            (waiters + slot).initialize(to: waiter)
            count &+= 1
        }

        /// The oldest entry and its waiter, taken (`count > 0`).
        @inline(__always)
        func popFirst() -> (entry: Entry, waiter: Waiter) {
            let taken = ((entries + head).move(), (waiters + head).move())
            head = (head &+ 1) & (capacity &- 1)
            count &-= 1
            return taken
        }

        /// The oldest waiter, taken, its entry dropped (`count > 0`).
        @inline(__always)
        func popFirstWaiter() -> Waiter {
            (entries + head).deinitialize(count: 1)
            let waiter = (waiters + head).move()
            head = (head &+ 1) & (capacity &- 1)
            count &-= 1
            return waiter
        }

        /// Takes the entry `offset` from the oldest and its waiter
        /// (`offset < count`); each later one moves a slot forward, then
        /// `adjust` changes its entry.
        func remove(atOffset offset: Int, adjustingLater adjust: (Entry, inout Entry) -> Void) -> (entry: Entry, waiter: Waiter) {
            let removed = (entry(offset).move(), waiter(offset).move())
            for later in offset..<(count - 1) {
                entry(later).moveInitialize(from: entry(later + 1), count: 1)
                waiter(later).moveInitialize(from: waiter(later + 1), count: 1)
                adjust(removed.0, &entry(later).pointee)
            }
            count -= 1
            return removed
        }

        /// A ring holding copies of these entries and waiters, for a
        /// queue about to change that shares this one.
        func copy() -> Ring {
            let copy = Ring(capacity: capacity)
            for offset in 0..<count { copy.append(entry(offset).pointee, waiter: waiter(offset).pointee) }
            return copy
        }

        /// Twice the room, the entries and waiters moved to the start of
        /// theirs in order.
        @inline(never)
        private func grow() {
            let (larger, largerWaiters) = (UnsafeMutablePointer<Entry>.allocate(capacity: capacity * 2),
                                           UnsafeMutablePointer<Waiter>.allocate(capacity: capacity * 2))
            let beforeEnd = min(count, capacity - head)
            larger.moveInitialize(from: entries + head, count: beforeEnd)
            (larger + beforeEnd).moveInitialize(from: entries, count: count - beforeEnd)
            largerWaiters.moveInitialize(from: waiters + head, count: beforeEnd)
            (largerWaiters + beforeEnd).moveInitialize(from: waiters, count: count - beforeEnd)
            entries.deallocate()
            waiters.deallocate()
            entries = larger
            waiters = largerWaiters
            capacity *= 2
            head = 0
        }
    }
}
