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

    @Test func onASemaphoreReleasesSeenTogetherHandOverToTheWaitersInOrder() {
        var tracker = HandoffTracker(names: 1, limit: 2)
        #expect(tracker.granted(name: 0, at: 10, acquireSentAt: 0) == nil)
        #expect(tracker.granted(name: 0, at: 20, acquireSentAt: 5) == nil)    // a free slot, not early
        #expect(tracker.released(name: 0, at: 100) == nil)
        #expect(tracker.released(name: 0, at: 105) == nil)
        #expect(tracker.granted(name: 0, at: 110, acquireSentAt: 30) == 10)   // paired with 100
        #expect(tracker.granted(name: 0, at: 125, acquireSentAt: 40) == 20)   // paired with 105
        #expect(tracker.released(name: 0, at: 200) == nil)
        #expect(tracker.granted(name: 0, at: 230, acquireSentAt: 201) == nil) // sent after it: no handoff
        #expect(tracker.granted(name: 0, at: 240, acquireSentAt: 202) == nil) // nothing left to pair with
        #expect(tracker.reordered == 0)
    }

    @Test func onAFullSemaphoreAGrantSeenBeforeItsReleaseIsReordered() {
        var tracker = HandoffTracker(names: 1, limit: 2)
        _ = tracker.granted(name: 0, at: 10, acquireSentAt: 0)
        _ = tracker.granted(name: 0, at: 20, acquireSentAt: 5)
        #expect(tracker.granted(name: 0, at: 300, acquireSentAt: 150) == nil)  // a third: early
        #expect(tracker.released(name: 0, at: 301) == 0)
        #expect(tracker.reordered == 1)
    }
}
