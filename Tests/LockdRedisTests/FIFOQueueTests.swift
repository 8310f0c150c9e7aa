import Testing

@testable import LockdRedis

// Serialized: two tests count `Tracked.live`, one shared counter.
@Suite(.serialized) struct FIFOQueueTests {
    /// Counts its live instances, to see what the queue keeps alive.
    final class Tracked {
        nonisolated(unsafe) static var live = 0
        let value: Int
        init(_ value: Int) { self.value = value; Self.live += 1 }
        deinit { Self.live -= 1 }
    }

    @Test func elementsLeaveInOrderAndChangeInPlace() {
        var queue = FIFOQueue<Int>()
        #expect(queue.popFirst() == nil)
        for value in 1...5 { queue.append(value) }
        #expect(queue.withFirst { first -> Int in first += 10; return first } == 11)
        #expect(queue.popFirst() == 11)
        #expect(queue.remove(where: { $0 == 3 }) == 3)
        #expect(queue.withFirst(where: { $0 == 4 }) { value -> Int in value *= 2; return value } == 8)
        #expect(queue.remove(where: { $0 == 2 }, adjustingLater: { removed, later in later += removed }) == 2)
        #expect(queue.count == 2)
        #expect(queue.removeAll() == [10, 7])
        #expect(queue.isEmpty)
        #expect(queue.withFirst { $0 } == nil)
    }

    /// Elements reached by their distance from the first, after pops (as
    /// the state machine reaches a command by its offset in its queue).
    @Test func elementsAreReachedByTheirOffsetFromTheFirst() {
        var queue = FIFOQueue<Int>()
        for value in 1...6 { queue.append(value) }
        #expect(queue.popFirst() == 1)
        #expect(queue.firstOffset(where: { $0 == 4 }) == 2)
        #expect(queue.firstOffset(where: { $0 == 9 }) == nil)
        #expect(queue.withElement(atOffset: 2) { value -> Int in value *= 10; return value } == 40)
        #expect(queue.remove(atOffset: 1, adjustingLater: { removed, later in later += removed }) == 3)
        #expect(queue.remove(atOffset: 0) == 2)
        #expect(queue.removeAll() == [43, 8, 9])
    }

    @Test func aQueueThatNeverEmptiesKeepsItsOrderAcrossCompactions() {
        var queue = FIFOQueue<Int>()
        var next = 0, expected = 0
        for _ in 0..<1_000 {
            queue.append(next); next += 1
            queue.append(next); next += 1
            #expect(queue.popFirst() == expected)
            expected += 1
        }
        #expect(queue.count == 1_000)
        #expect(queue.first == expected)
        #expect(queue.removeAll() == Array(expected..<next))
    }

    /// Emptied by its pops (a few slots, dropped one by one, or many), the
    /// queue starts over and serves what comes next in order.
    @Test(arguments: [1, 2, 8, 9, 100])
    func aQueueEmptiedByItsPopsStartsOver(size: Int) {
        var queue = FIFOQueue<Int>()
        for round in 0..<3 {
            for value in 0..<size { queue.append(round * 1_000 + value) }
            for value in 0..<size { #expect(queue.popFirst() == round * 1_000 + value) }
            #expect(queue.isEmpty)
            #expect(queue.count == 0)
            #expect(queue.popFirst() == nil)
        }
        queue.append(7)
        #expect(queue.first == 7)
        #expect(queue.count == 1)
    }

    @Test func aTakenElementIsNotKeptByTheQueue() {
        var queue = FIFOQueue<Tracked>()
        for value in 0..<3 { queue.append(Tracked(value)) }
        #expect(Tracked.live == 3)
        // The head leaves while others stay: its slot must not keep it.
        #expect(queue.popFirst()?.value == 0)
        #expect(Tracked.live == 2)
        #expect(queue.remove(where: { $0.value == 2 })?.value == 2)
        #expect(Tracked.live == 1)
        #expect(queue.removeAll().map(\.value) == [1])
        #expect(Tracked.live == 0)
    }

    /// The queue is a ring that doubles when full: elements reached by
    /// offset, removed from the middle and read from the first stay in
    /// order whatever slot they wrapped into, across growth, against a
    /// plain array doing the same.
    @Test func aRingKeepsItsOrderAcrossWrapsGrowthAndRemovals() {
        var queue = FIFOQueue<Int>()
        var model: [Int] = []
        var generator = SystemRandomNumberGenerator()
        var next = 0
        for step in 0..<5_000 {
            switch UInt8.random(in: 0..<10, using: &generator) {
            case 0..<4:
                queue.append(next)
                model.append(next)
                next += 1
            case 4..<7:
                #expect(queue.popFirst() == model.first)
                if !model.isEmpty { model.removeFirst() }
            case 7:
                guard !model.isEmpty else { continue }
                let offset = Int.random(in: 0..<model.count, using: &generator)
                let removed = model.remove(at: offset)
                for later in offset..<model.count { model[later] ^= removed }
                #expect(queue.remove(atOffset: offset, adjustingLater: { removed, later in later ^= removed }) == removed)
            case 8:
                #expect(queue.readFirst { $0 } == model.first)
                #expect(queue.withFirst { first -> Int in first += 1; return first } == model.first.map { $0 + 1 })
                if !model.isEmpty { model[0] += 1 }
            default:
                let target = model.randomElement(using: &generator) ?? -1
                #expect(queue.firstOffset(where: { $0 == target }) == model.firstIndex(of: target))
            }
            #expect(queue.count == model.count, "step \(step)")
        }
        #expect(queue.removeAll() == model)
    }

    /// A copy is a value of its own: changing it (or the original) leaves
    /// the other as it was, even though they share a buffer until then.
    @Test func aCopyChangesAloneAndFreesWhatItHolds() {
        var queue = FIFOQueue<Tracked>()
        for value in 0..<5 { queue.append(Tracked(value)) }
        var copy = queue
        #expect(copy.popFirst()?.value == 0)
        copy.append(Tracked(9))
        _ = copy.withFirst { $0 = Tracked(7) }
        #expect(queue.removeAll().map(\.value) == [0, 1, 2, 3, 4])
        #expect(copy.removeAll().map(\.value) == [7, 2, 3, 4, 9])
        #expect(Tracked.live == 0)
        // A queue dropped with elements in it frees them.
        do {
            var dropped = FIFOQueue<Tracked>()
            for value in 0..<20 { dropped.append(Tracked(value)) }
            _ = dropped.popFirst()
            #expect(Tracked.live == 19)
        }
        #expect(Tracked.live == 0)
    }
}
