/// Identifies a timer scheduled on an ``EventLoop`` so it can be cancelled.
public struct TimerID: Hashable, Sendable {
    fileprivate let value: UInt64
}

/// A loop's timers: a binary min-heap of deadlines; cancelled entries are
/// dropped lazily when they reach the top.
struct TimerQueue {
    private struct Entry {
        let deadline: UInt64
        let id: UInt64
    }

    private var heap: [Entry] = []
    private var work: [UInt64: @Sendable () -> Void] = [:]
    private var nextID: UInt64 = 0
    /// The id of the heap's top when it was last found live (0: not known):
    /// the loop asks for the next deadline every iteration, and this spares
    /// it a hash lookup while the top stays the same.
    private var liveTop: UInt64 = 0

    /// The earliest live deadline, if any.
    var nextDeadline: UInt64? {
        mutating get {
            dropCancelledTop()
            return heap.first?.deadline
        }
    }

    mutating func schedule(at deadline: UInt64, _ body: @escaping @Sendable () -> Void) -> TimerID {
        nextID &+= 1
        work[nextID] = body
        heap.append(Entry(deadline: deadline, id: nextID))
        siftUp(heap.count - 1)
        return TimerID(value: nextID)
    }

    mutating func cancel(_ id: TimerID) {
        work[id.value] = nil
        if id.value == liveTop { liveTop = 0 }
    }

    /// Removes and returns every live timer whose deadline is at or before
    /// `now`; the caller runs them, so they may schedule new timers.
    mutating func popDue(now: UInt64) -> [@Sendable () -> Void] {
        var due: [@Sendable () -> Void] = []
        while let top = heap.first, top.deadline <= now {
            removeTop()
            if let body = work.removeValue(forKey: top.id) { due.append(body) }
        }
        return due
    }

    private mutating func dropCancelledTop() {
        guard let first = heap.first, first.id != liveTop else { return }
        while let top = heap.first, work[top.id] == nil { removeTop() }
        liveTop = heap.first?.id ?? 0
    }

    private mutating func removeTop() {
        let last = heap.removeLast()
        guard !heap.isEmpty else { return }
        heap[0] = last
        siftDown(0)
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].deadline < heap[parent].deadline else { return }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < heap.count, heap[left].deadline < heap[smallest].deadline { smallest = left }
            if right < heap.count, heap[right].deadline < heap[smallest].deadline { smallest = right }
            if smallest == parent { return }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
