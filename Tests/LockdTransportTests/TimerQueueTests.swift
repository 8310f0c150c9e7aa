import LockdTestSupport
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

    /// The next deadline, asked after every step of a random run of
    /// schedules (ahead of the top and behind it, equal deadlines too),
    /// cancels (of the top, of others, of timers already fired or
    /// cancelled) and pops, is always the earliest live timer's: the known
    /// live top is never stale.
    @Test func theNextDeadlineFollowsEveryChangeOfTheTop() {
        var generator = SplitMix64(seed: 0x5EED_7133)
        var queue = TimerQueue()
        var live: [UInt64: (id: TimerID, deadline: UInt64)] = [:]
        var everScheduled: [TimerID] = []
        var key: UInt64 = 0
        for _ in 0..<20_000 {
            switch generator.next() % 10 {
            case 0..<4:
                let deadline = generator.next() % 64
                key += 1
                let id = queue.schedule(at: deadline) {}
                live[key] = (id, deadline)
                everScheduled.append(id)
            case 4..<6:
                // The top (when asked first), or any live timer.
                if let earliest = live.min(by: { $0.value.deadline < $1.value.deadline }), generator.next() % 2 == 0 {
                    _ = queue.nextDeadline
                    queue.cancel(earliest.value.id)
                    live[earliest.key] = nil
                } else if let any = live.randomElement(using: &generator) {
                    queue.cancel(any.value.id)
                    live[any.key] = nil
                }
            case 6:
                if let any = everScheduled.randomElement(using: &generator) {
                    queue.cancel(any)
                    live = live.filter { $0.value.id != any }
                }
            default:
                let now = generator.next() % 64
                let fired = queue.popDue(now: now).count
                let due = live.filter { $0.value.deadline <= now }
                #expect(fired == due.count)
                for entry in due { live[entry.key] = nil }
            }
            #expect(queue.nextDeadline == live.values.map(\.deadline).min())
        }
    }
}
