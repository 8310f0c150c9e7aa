/// A first-in first-out queue with O(1) amortized append and removal.
///
/// A ring over one buffer that doubles when full: an element is
/// initialized into its slot as it is appended and moved out as it is
/// taken, never copied, and a slot holds nothing between the two. (A
/// Redis connection's commands held for the connection wait in one; those
/// sent wait in a ``ReplyQueue``, the same ring with their waiters beside
/// them.) An array of optionals with a moving head did the same through
/// the array's uniqueness and bounds checks, assigned
/// `nil` into each slot it took from (the element type's destroy), and
/// dropped the emptied slots one by one as the queue emptied — after
/// nearly every reply (~75 instructions a pop, ~150 a reply).
///
/// A value type, as before: a copy's changes are its own (the buffer is
/// copied before one that is shared changes).
struct FIFOQueue<Element> {
    private var ring = Ring(capacity: 4)

    var isEmpty: Bool { ring.count == 0 }
    var count: Int { ring.count }
    var first: Element? { ring.count == 0 ? nil : ring.slot(0).pointee }

    mutating func append(_ element: consuming Element) {
        makeUnique()
        ring.append(element)
    }

    mutating func popFirst() -> Element? {
        guard ring.count > 0 else { return nil }
        makeUnique()
        return ring.popFirst()
    }

    /// Gives access to the first element in place.
    mutating func withFirst<Result>(_ body: (inout Element) -> Result) -> Result? {
        guard ring.count > 0 else { return nil }
        makeUnique()
        return body(&ring.slot(0).pointee)
    }

    /// Reads the first element where it lies: no change, so a buffer
    /// shared with a copy is not copied first (nor checked).
    func readFirst<Result>(_ body: (Element) -> Result) -> Result? {
        guard ring.count > 0 else { return nil }
        return body(ring.slot(0).pointee)
    }

    /// Removes and returns every element, oldest first.
    mutating func removeAll() -> [Element] {
        var elements: [Element] = []
        elements.reserveCapacity(count)
        makeUnique()
        while ring.count > 0 { elements.append(ring.popFirst()) }
        return elements
    }

    /// Removes and returns the first element matching `predicate`, keeping the order of the rest.
    mutating func remove(where predicate: (Element) -> Bool) -> Element? {
        guard let offset = firstOffset(where: predicate) else { return nil }
        return remove(atOffset: offset)
    }

    /// Removes and returns the first element matching `predicate`, letting
    /// `adjust` change each element after it (given the removed one).
    mutating func remove(where predicate: (Element) -> Bool, adjustingLater adjust: (Element, inout Element) -> Void) -> Element? {
        guard let offset = firstOffset(where: predicate) else { return nil }
        return remove(atOffset: offset, adjustingLater: adjust)
    }

    /// Gives access in place to the first element matching `predicate`; nil when none does.
    mutating func withFirst<Result>(where predicate: (Element) -> Bool, _ body: (inout Element) -> Result) -> Result? {
        guard let offset = firstOffset(where: predicate) else { return nil }
        return withElement(atOffset: offset, body)
    }

    /// How far from the first the first element matching `predicate` is.
    func firstOffset(where predicate: (Element) -> Bool) -> Int? {
        (0..<ring.count).first { predicate(ring.slot($0).pointee) }
    }

    /// Removes and returns the element `offset` from the first (which
    /// must be there), letting `adjust` change each element after it.
    mutating func remove(atOffset offset: Int, adjustingLater adjust: (Element, inout Element) -> Void = { _, _ in }) -> Element? {
        guard offset >= 0, offset < ring.count else { return nil }
        makeUnique()
        return ring.remove(atOffset: offset, adjustingLater: adjust)
    }

    /// Gives access in place to the element `offset` from the first (which must be there).
    mutating func withElement<Result>(atOffset offset: Int, _ body: (inout Element) -> Result) -> Result? {
        guard offset >= 0, offset < ring.count else { return nil }
        makeUnique()
        return body(&ring.slot(offset).pointee)
    }

    /// Copies the buffer before a change when another queue shares it.
    private mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&ring) { ring = ring.copy() }
    }

    /// The buffer and which of its slots hold elements: `count` of them
    /// from `head`, wrapping past the end.
    ///
    /// Unsafe memory, for the gain above, with an obvious lifetime: the
    /// buffer is allocated and freed by this object alone (the elements
    /// left in it deinitialized first), and no pointer into it outlives
    /// the queue method that takes it. Its fields are
    /// `@exclusivity(unchecked)`: only the queue's methods touch them, and
    /// none of those lets a caller's closure reach the queue (a closure
    /// gets an element, not the queue), so no access overlaps another.
    final class Ring {
        @exclusivity(unchecked) private var elements: UnsafeMutablePointer<Element>
        /// A power of two.
        @exclusivity(unchecked) private var capacity: Int
        @exclusivity(unchecked) private var head = 0
        @exclusivity(unchecked) private(set) var count = 0

        init(capacity: Int) {
            self.capacity = capacity
            elements = .allocate(capacity: capacity)
        }

        deinit {
            while count > 0 { _ = popFirst() }
            elements.deallocate()
        }

        /// The slot `offset` from the first (`offset < count`).
        @inline(__always)
        func slot(_ offset: Int) -> UnsafeMutablePointer<Element> {
            elements + ((head &+ offset) & (capacity &- 1))
        }

        @inline(__always)
        func append(_ element: consuming Element) {
            if count == capacity { grow() }
            slot(count).initialize(to: element)
            count += 1
        }

        /// The first element, taken (`count > 0`).
        @inline(__always)
        func popFirst() -> Element {
            let element = (elements + head).move()
            head = (head &+ 1) & (capacity &- 1)
            count -= 1
            return element
        }

        /// Takes the element `offset` from the first (`offset < count`);
        /// each later one moves a slot forward, then `adjust` changes it.
        func remove(atOffset offset: Int, adjustingLater adjust: (Element, inout Element) -> Void) -> Element {
            let removed = slot(offset).move()
            for later in offset..<(count - 1) {
                slot(later).moveInitialize(from: slot(later + 1), count: 1)
                adjust(removed, &slot(later).pointee)
            }
            count -= 1
            return removed
        }

        /// A ring holding copies of these elements, for a queue about to
        /// change that shares this one.
        func copy() -> Ring {
            let copy = Ring(capacity: capacity)
            for offset in 0..<count { copy.append(slot(offset).pointee) }
            return copy
        }

        /// Twice the room, the elements moved to its start in order.
        @inline(never)
        private func grow() {
            let larger = UnsafeMutablePointer<Element>.allocate(capacity: capacity * 2)
            let beforeEnd = min(count, capacity - head)
            larger.moveInitialize(from: elements + head, count: beforeEnd)
            (larger + beforeEnd).moveInitialize(from: elements, count: count - beforeEnd)
            elements.deallocate()
            elements = larger
            capacity *= 2
            head = 0
        }
    }
}
