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
    /// The id of the heap's top while it is known live (0: not known), and
    /// its deadline: the loop asks for the next deadline twice an
    /// iteration, and while the top stays the same this answers with two
    /// loads — no hash lookup, no look at the heap, no call (a call that
    /// looked at the heap cost ~23 instructions, four a Redis lock
    /// request). Ids start at 1, so 0 is never a timer's. Whenever
    /// `liveTop` is not 0, it is the heap's top, its work is still there,
    /// and `liveTopDeadline` is its deadline: every change of the top —
    /// a timer scheduled ahead of it, the top cancelled, removed or fired —
    /// sets or clears it.
    private var liveTop: UInt64 = 0
    private var liveTopDeadline: UInt64 = 0

    /// The earliest live deadline, if any.
    var nextDeadline: UInt64? {
        mutating get {
            if liveTop != 0 { return liveTopDeadline }
            return findLiveTop()
        }
    }

    mutating func schedule(at deadline: UInt64, _ body: @escaping @Sendable () -> Void) -> TimerID {
        nextID &+= 1
        work[nextID] = body
        heap.append(Entry(deadline: deadline, id: nextID))
        siftUp(heap.count - 1)
        // Ahead of the top: the new timer is the top now, and live.
        if heap[0].id == nextID {
            liveTop = nextID
            liveTopDeadline = deadline
        }
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

    /// Drops cancelled timers from the top and notes the live one found
    /// there; its deadline, or nil when no timer is left.
    private mutating func findLiveTop() -> UInt64? {
        while let top = heap.first, work[top.id] == nil { removeTop() }
        guard let top = heap.first else { return nil }
        liveTop = top.id
        liveTopDeadline = top.deadline
        return top.deadline
    }

    private mutating func removeTop() {
        liveTop = 0
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
