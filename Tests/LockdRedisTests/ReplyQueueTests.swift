import Testing

@testable import LockdRedis

/// `ReplyQueue`, the connection's commands awaiting replies with their
/// waiters in one ring: every entry stays with its own waiter whatever is
/// appended, taken, removed from the middle or changed in place, and the
/// queue keeps no waiter it gave up.
// Serialized: two tests count `Tracked.live`, one shared counter.
@Suite(.serialized) struct ReplyQueueTests {
    /// Counts its live instances, to see what the queue keeps alive.
    final class Tracked {
        nonisolated(unsafe) static var live = 0
        let value: Int
        init(_ value: Int) { self.value = value; Self.live += 1 }
        deinit { Self.live -= 1 }
    }

    @Test func entriesLeaveInOrderWithTheirWaiters() {
        var queue = ReplyQueue<Int, String>()
        #expect(queue.popFirst() == nil)
        #expect(queue.first == nil)
        for value in 1...5 { queue.append(value, waiter: "w\(value)") }
        #expect(queue.count == 5)
        #expect(queue.first == 1)
        #expect(queue.withFirst { entry -> Int in entry += 10; return entry } == 11)
        #expect(queue.readFirstAndWaiter { entry, waiter in "\(entry) \(waiter)" } == "11 w1")
        let head = queue.popFirst()
        #expect(head?.entry == 11 && head?.waiter == "w1")
        #expect(queue.firstOffset(where: { $0 == 4 }) == 2)
        #expect(queue.firstOffset(where: { $0 == 9 }) == nil)
        #expect(queue.waiter(atOffset: 2) == "w4")
        #expect(queue.waiter(atOffset: 4) == nil)
        #expect(queue.withEntry(atOffset: 2) { entry -> Int in entry *= 10; return entry } == 40)
        #expect(queue.popFirstWaiter() == "w2")
        #expect(queue.first == 3)
        queue.append(2, waiter: "w2")
        #expect(queue.withEntry(atOffset: 4) { _ in 0 } == nil)
        let removed = queue.remove(atOffset: 1, adjustingLater: { removed, later in later += removed })
        #expect(removed?.entry == 40 && removed?.waiter == "w4")
        #expect(queue.remove(atOffset: 3) == nil)
        let all = queue.removeAll()
        #expect(all.map(\.entry) == [3, 45, 42])
        #expect(all.map(\.waiter) == ["w3", "w5", "w2"])
        #expect(queue.isEmpty)
        #expect(queue.withFirst { $0 } == nil)
        #expect(queue.readFirst { $0 } == nil)
    }

    /// The ring doubles when full and wraps past its end: every entry and
    /// waiter, reached by offset, removed from the middle, changed in place
    /// and taken from the front, stays paired and in order, against an
    /// array of pairs doing the same.
    @Test func entriesAndWaitersStayPairedAcrossWrapsGrowthAndRemovals() {
        var queue = ReplyQueue<Int, Int>()
        var model: [(entry: Int, waiter: Int)] = []
        var generator = SystemRandomNumberGenerator()
        var next = 0
        for step in 0..<5_000 {
            switch UInt8.random(in: 0..<10, using: &generator) {
            case 0..<4:
                queue.append(next, waiter: -next)
                model.append((next, -next))
                next += 1
            case 4..<7:
                let taken = queue.popFirst()
                #expect(taken?.entry == model.first?.entry && taken?.waiter == model.first?.waiter, "step \(step)")
                if !model.isEmpty { model.removeFirst() }
            case 7:
                guard !model.isEmpty else { continue }
                let offset = Int.random(in: 0..<model.count, using: &generator)
                let removed = model.remove(at: offset)
                for later in offset..<model.count { model[later].entry ^= removed.entry }
                let taken = queue.remove(atOffset: offset, adjustingLater: { removed, later in later ^= removed })
                #expect(taken?.entry == removed.entry && taken?.waiter == removed.waiter, "step \(step)")
            case 8:
                #expect(queue.readFirstAndWaiter { [$0, $1] } == model.first.map { [$0.entry, $0.waiter] })
                #expect(queue.withFirst { first -> Int in first += 1; return first } == model.first.map { $0.entry + 1 })
                if !model.isEmpty { model[0].entry += 1 }
            default:
                guard let target = model.randomElement(using: &generator) else { continue }
                let offset = queue.firstOffset(where: { $0 == target.entry })
                #expect(offset == model.firstIndex { $0.entry == target.entry })
                // (Entries change, so two may be equal: the waiter is the first one's.)
                #expect(offset.flatMap { queue.waiter(atOffset: $0) } == offset.map { model[$0].waiter })
            }
            #expect(queue.count == model.count, "step \(step)")
        }
        let all = queue.removeAll()
        #expect(all.map(\.entry) == model.map(\.entry))
        #expect(all.map(\.waiter) == model.map(\.waiter))
    }

    /// A waiter taken (from the front, the middle, or all at once) is no
    /// longer kept by the queue, and one left in a queue dropped is freed.
    @Test func aTakenWaiterIsNotKeptByTheQueue() {
        var queue = ReplyQueue<Int, Tracked>()
        for value in 0..<3 { queue.append(value, waiter: Tracked(value)) }
        #expect(Tracked.live == 3)
        #expect(queue.popFirst()?.waiter.value == 0)
        #expect(Tracked.live == 2)
        #expect(queue.remove(atOffset: 1)?.waiter.value == 2)
        #expect(Tracked.live == 1)
        #expect(queue.removeAll().map(\.waiter.value) == [1])
        #expect(Tracked.live == 0)
        do {
            var dropped = ReplyQueue<Int, Tracked>()
            for value in 0..<20 { dropped.append(value, waiter: Tracked(value)) }
            _ = dropped.popFirst()
            #expect(Tracked.live == 19)
        }
        #expect(Tracked.live == 0)
    }

    /// A copy is a value of its own: changing it (or the original) leaves
    /// the other as it was, even though they share a ring until then.
    @Test func aCopyChangesAloneAndFreesWhatItHolds() {
        var queue = ReplyQueue<Int, Tracked>()
        for value in 0..<5 { queue.append(value, waiter: Tracked(value)) }
        var copy = queue
        #expect(copy.popFirst()?.waiter.value == 0)
        copy.append(9, waiter: Tracked(9))
        _ = copy.withFirst { $0 = 7 }
        let original = queue.removeAll()
        #expect(original.map(\.entry) == [0, 1, 2, 3, 4])
        #expect(original.map(\.waiter.value) == [0, 1, 2, 3, 4])
        let changed = copy.removeAll()
        #expect(changed.map(\.entry) == [7, 2, 3, 4, 9])
        #expect(changed.map(\.waiter.value) == [1, 2, 3, 4, 9])
    }

    @Test func aCopyFreesItsWaitersOnceBothAreGone() {
        do {
            var queue = ReplyQueue<Int, Tracked>()
            for value in 0..<5 { queue.append(value, waiter: Tracked(value)) }
            var copy = queue
            _ = copy.popFirst()
            #expect(Tracked.live == 5)
        }
        #expect(Tracked.live == 0)
    }
}
