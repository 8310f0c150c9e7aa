import Testing

@testable import LockdRedis

@Suite struct FIFOQueueTests {
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

    /// Elements reached by their distance from the first, after pops: the
    /// state machine keeps its entries and their waiters in two queues
    /// and changes both at the same offset.
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
}
