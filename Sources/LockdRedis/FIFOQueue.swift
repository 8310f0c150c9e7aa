/// A first-in first-out queue with O(1) amortized append and removal.
///
/// Array-backed with a moving head; storage is compacted once the consumed
/// prefix outweighs the live part, so a queue that never empties still
/// does not grow without bound.
///
/// Elements are moved in and out, never copied: a removed element leaves
/// `nil` behind in its slot. (A Redis command's entry copied in and out
/// of the queue, then destroyed twice, cost ~700 instructions a command.)
struct FIFOQueue<Element> {
    /// Every slot from `head` on holds an element; the slots before it are
    /// empty until the next compaction.
    private var storage: [Element?] = []
    private var head = 0

    var isEmpty: Bool { head == storage.count }
    var count: Int { storage.count - head }
    var first: Element? { isEmpty ? nil : storage[head] }

    mutating func append(_ element: consuming Element) {
        storage.append(element)
    }

    mutating func popFirst() -> Element? {
        guard head < storage.count else { return nil }
        let element = storage[head].take()
        head += 1
        if head == storage.count {
            // Emptied: its few empty slots dropped one by one (Array's
            // `removeAll(keepingCapacity:)` takes a generic path, ~200
            // instructions, and a connection's queue empties with nearly
            // every reply it reads).
            if head <= 8 {
                while !storage.isEmpty { storage.removeLast() }
            } else {
                storage.removeAll(keepingCapacity: true)
            }
            head = 0
        } else if head >= 64, head * 2 >= storage.count {
            storage.removeFirst(head)
            head = 0
        }
        return element
    }

    /// Gives access to the first element in place.
    mutating func withFirst<Result>(_ body: (inout Element) -> Result) -> Result? {
        guard head < storage.count else { return nil }
        return Self.access(&storage[head], body)
    }

    /// Removes and returns every element, oldest first.
    mutating func removeAll() -> [Element] {
        var elements: [Element] = []
        elements.reserveCapacity(count)
        for index in head..<storage.count {
            if let element = storage[index].take() { elements.append(element) }
        }
        storage.removeAll(keepingCapacity: true)
        head = 0
        return elements
    }

    /// Removes and returns the first element matching `predicate`, keeping the order of the rest.
    mutating func remove(where predicate: (Element) -> Bool) -> Element? {
        guard let index = firstIndex(where: predicate) else { return nil }
        return storage.remove(at: index)
    }

    /// Removes and returns the first element matching `predicate`, letting
    /// `adjust` change each element after it (given the removed one).
    mutating func remove(where predicate: (Element) -> Bool, adjustingLater adjust: (Element, inout Element) -> Void) -> Element? {
        guard let offset = firstOffset(where: predicate) else { return nil }
        return remove(atOffset: offset, adjustingLater: adjust)
    }

    /// Gives access in place to the first element matching `predicate`; nil when none does.
    mutating func withFirst<Result>(where predicate: (Element) -> Bool, _ body: (inout Element) -> Result) -> Result? {
        guard let index = firstIndex(where: predicate) else { return nil }
        return Self.access(&storage[index], body)
    }

    /// How far from the first the first element matching `predicate` is.
    func firstOffset(where predicate: (Element) -> Bool) -> Int? {
        firstIndex(where: predicate).map { $0 - head }
    }

    /// Removes and returns the element `offset` from the first (which
    /// must be there), letting `adjust` change each element after it.
    mutating func remove(atOffset offset: Int, adjustingLater adjust: (Element, inout Element) -> Void = { _, _ in }) -> Element? {
        let index = head + offset
        guard let removed = storage.remove(at: index) else { return nil }
        for later in index..<storage.count { _ = Self.access(&storage[later]) { adjust(removed, &$0) } }
        return removed
    }

    /// Gives access in place to the element `offset` from the first (which must be there).
    mutating func withElement<Result>(atOffset offset: Int, _ body: (inout Element) -> Result) -> Result? {
        Self.access(&storage[head + offset], body)
    }

    private func firstIndex(where predicate: (Element) -> Bool) -> Int? {
        storage[head...].firstIndex { slot in slot.map(predicate) ?? false }
    }

    /// `body` over the element in `slot` (every slot from `head` on holds one).
    private static func access<Result>(_ slot: inout Element?, _ body: (inout Element) -> Result) -> Result? {
        guard slot != nil else { return nil }
        return body(&slot!)
    }
}
