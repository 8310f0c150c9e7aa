import Testing

@testable import LockdTransport

@Suite struct TimerQueueTests {
    @Test func theNextDeadlineSkipsCancelledTimersEvenAfterTheTopWasSeenLive() {
        var queue = TimerQueue()
        let early = queue.schedule(at: 10) {}
        let late = queue.schedule(at: 20) {}
        #expect(queue.nextDeadline == 10)
        #expect(queue.nextDeadline == 10)  // the top, known live, asked again
        queue.cancel(early)
        #expect(queue.nextDeadline == 20)
        _ = queue.schedule(at: 5) {}
        #expect(queue.nextDeadline == 5)
        #expect(queue.popDue(now: 5).count == 1)
        #expect(queue.nextDeadline == 20)
        queue.cancel(late)
        #expect(queue.nextDeadline == nil)
        #expect(queue.popDue(now: .max).isEmpty)
    }

    @Test func dueTimersComeOutInDeadlineOrder() {
        var queue = TimerQueue()
        var order: [Int] = []
        for deadline in [30, 10, 20] { _ = queue.schedule(at: UInt64(deadline)) {} }
        while let next = queue.nextDeadline {
            order.append(Int(next))
            _ = queue.popDue(now: next)
        }
        #expect(order == [10, 20, 30])
    }
}
