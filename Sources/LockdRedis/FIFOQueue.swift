/// A first-in first-out queue with O(1) amortized append and removal.
///
/// Array-backed with a moving head; storage is compacted once the consumed
/// prefix outweighs the live part, so a queue that never empties still
/// does not grow without bound.
struct FIFOQueue<Element> {
    private var storage: [Element] = []
    private var head = 0

    var isEmpty: Bool { head == storage.count }
    var count: Int { storage.count - head }
    var first: Element? { isEmpty ? nil : storage[head] }

    mutating func append(_ element: Element) {
        storage.append(element)
    }

    mutating func popFirst() -> Element? {
        guard head < storage.count else { return nil }
        let element = storage[head]
        head += 1
        if head == storage.count {
            storage.removeAll(keepingCapacity: true)
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
        return body(&storage[head])
    }

    /// Removes and returns every element, oldest first.
    mutating func removeAll() -> [Element] {
        let elements = Array(storage[head...])
        storage.removeAll(keepingCapacity: true)
        head = 0
        return elements
    }

    /// Removes and returns the first element matching `predicate`, keeping the order of the rest.
    mutating func remove(where predicate: (Element) -> Bool) -> Element? {
        guard let index = storage[head...].firstIndex(where: predicate) else { return nil }
        return storage.remove(at: index)
    }

    /// Gives access in place to the first element matching `predicate`; nil when none does.
    mutating func withFirst<Result>(where predicate: (Element) -> Bool, _ body: (inout Element) -> Result) -> Result? {
        guard let index = storage[head...].firstIndex(where: predicate) else { return nil }
        return body(&storage[index])
    }

    /// Removes and returns the first element matching `predicate`, letting
    /// `adjust` change each element after it (given the removed one).
    mutating func remove(where predicate: (Element) -> Bool, adjustingLater adjust: (Element, inout Element) -> Void) -> Element? {
        guard let index = storage[head...].firstIndex(where: predicate) else { return nil }
        let removed = storage.remove(at: index)
        for later in index..<storage.count { adjust(removed, &storage[later]) }
        return removed
    }
}
