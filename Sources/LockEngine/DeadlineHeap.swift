/// The waiting acquires' deadlines, soonest first: a binary min-heap that
/// ``WaiterRegistry`` keeps so that one loop timer, set for the soonest
/// deadline, serves every waiter, instead of a timer per waiter that fires
/// long after most of them were granted. Entries of waiters that left are
/// not searched out: they are dropped when they reach the top.
struct DeadlineHeap {
    /// A waiter's deadline; `order` tells it from a later waiter that
    /// happened to draw the same id.
    struct Entry {
        let at: UInt64
        let order: UInt64
        let waiter: WaiterID
    }

    private var heap: [Entry] = []

    /// The soonest deadline's entry.
    var first: Entry? { heap.first }

    mutating func insert(_ entry: Entry) {
        heap.append(entry)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].at < heap[parent].at else { return }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes the soonest deadline's entry.
    mutating func removeFirst() {
        let last = heap.removeLast()
        guard !heap.isEmpty else { return }
        heap[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < heap.count, heap[left].at < heap[smallest].at { smallest = left }
            if right < heap.count, heap[right].at < heap[smallest].at { smallest = right }
            if smallest == parent { return }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
