import Testing

@testable import LockbenchCore

@Suite struct HandoffTrackerTests {
    @Test func aQueuedWaiterGrantedAfterAReleaseIsAHandoff() {
        var tracker = HandoffTracker(names: 2)
        #expect(tracker.granted(name: 0, at: 100, acquireSentAt: 90) == nil)  // first holder
        #expect(tracker.released(name: 0, at: 200) == nil)
        #expect(tracker.granted(name: 0, at: 250, acquireSentAt: 120) == 50)   // queued at 120
        #expect(tracker.reordered == 0)
    }

    @Test func anAcquireSentAfterTheReleaseIsNoHandoff() {
        var tracker = HandoffTracker(names: 1)
        _ = tracker.granted(name: 0, at: 100, acquireSentAt: 90)
        _ = tracker.released(name: 0, at: 200)
        #expect(tracker.granted(name: 0, at: 400, acquireSentAt: 300) == nil)
        #expect(tracker.released(name: 0, at: 500) == nil)
        #expect(tracker.granted(name: 0, at: 530, acquireSentAt: 450) == 30)
    }

    @Test func aGrantSeenBeforeItsReleaseCountsAsReorderedZero() {
        var tracker = HandoffTracker(names: 1)
        _ = tracker.granted(name: 0, at: 100, acquireSentAt: 90)
        #expect(tracker.granted(name: 0, at: 300, acquireSentAt: 150) == nil)  // noticed first
        #expect(tracker.released(name: 0, at: 301) == 0)
        #expect(tracker.reordered == 1)
        // The second holder's release then hands over normally.
        #expect(tracker.released(name: 0, at: 400) == nil)
        #expect(tracker.granted(name: 0, at: 410, acquireSentAt: 350) == 10)
    }

    @Test func namesAreTrackedApart() {
        var tracker = HandoffTracker(names: 2)
        _ = tracker.granted(name: 0, at: 100, acquireSentAt: 90)
        _ = tracker.released(name: 0, at: 200)
        #expect(tracker.granted(name: 1, at: 210, acquireSentAt: 150) == nil)
        #expect(tracker.granted(name: 0, at: 220, acquireSentAt: 150) == 20)
    }

    @Test func anAbandonedLeaseBreaksThePairing() {
        var tracker = HandoffTracker(names: 1)
        _ = tracker.granted(name: 0, at: 100, acquireSentAt: 90)
        tracker.abandoned(name: 0)  // 409 lease-lost on release: it expired
        #expect(tracker.granted(name: 0, at: 30_100, acquireSentAt: 150) == nil)
        #expect(tracker.released(name: 0, at: 30_200) == nil)
        #expect(tracker.granted(name: 0, at: 30_210, acquireSentAt: 30_000) == 10)
    }
}
