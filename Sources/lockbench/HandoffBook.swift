import LockbenchCore
import Synchronization

/// The run's ``HandoffTracker``, shared by the clients of every event loop.
///
/// Clients of one name may sit on different loops, so the tracker is behind
/// a mutex; it is only created for contended runs, where each lock operation
/// costs far more than this uncontended-in-practice lock.
final class HandoffBook: Sendable {
    private let tracker: Mutex<HandoffTracker>

    /// Tracks handoffs on `names` names of `limit` holders each.
    init(names: Int, limit: Int) {
        tracker = Mutex(HandoffTracker(names: names, limit: limit))
    }

    /// See ``HandoffTracker/granted(name:at:acquireSentAt:)``.
    func granted(name: Int, at time: UInt64, acquireSentAt sentAt: UInt64) -> UInt64? {
        tracker.withLock { $0.granted(name: name, at: time, acquireSentAt: sentAt) }
    }

    /// See ``HandoffTracker/released(name:at:)``.
    func released(name: Int, at time: UInt64) -> UInt64? {
        tracker.withLock { $0.released(name: name, at: time) }
    }

    /// See ``HandoffTracker/abandoned(name:)``.
    func abandoned(name: Int) {
        tracker.withLock { $0.abandoned(name: name) }
    }

    /// Handoffs seen out of order so far.
    var reordered: Int { tracker.withLock { $0.reordered } }
}
