import LockdTransport
import Synchronization

/// The waiters whose grant, handed over with a wake-up, this engine
/// delivered to their clients, remembered for a while: a duplicate of that
/// wake-up (a subscription still open on a node a channel moved from, a
/// `PUBLISH` forwarded by a demoted master) then finds no waiter here, and
/// must not be taken for a grant nobody collected — giving it back would
/// end a lease its client is using. Waiter ids are random and used once,
/// so remembering one can never spare a grant that was really abandoned.
///
/// Bounded: ids live in two generations, the older dropped when the newer
/// is ``retention`` old or holds ``capacity`` ids, so an id is kept for at
/// least ``retention`` unless grants arrive faster than `capacity` per
/// `retention`.
final class DeliveredGrants: Sendable {
    private let retention: UInt64
    private let capacity: Int
    private let state: Mutex<State>

    private struct State {
        var current: Set<WaiterID> = []
        var previous: Set<WaiterID> = []
        var currentSince: UInt64
    }

    init(retention: Duration = .seconds(10), capacity: Int = 50_000, now: UInt64 = MonotonicClock.now()) {
        self.retention = MonotonicClock.nanoseconds(retention)
        self.capacity = capacity
        self.state = Mutex(State(currentSince: now))
    }

    /// `waiter`'s handed grant reached its client.
    func insert(_ waiter: WaiterID, now: UInt64 = MonotonicClock.now()) {
        state.withLock { state in
            rotateIfDue(&state, now: now)
            state.current.insert(waiter)
        }
    }

    /// Whether `waiter`'s handed grant was delivered (within the retention).
    func contains(_ waiter: WaiterID, now: UInt64 = MonotonicClock.now()) -> Bool {
        state.withLock { state in
            rotateIfDue(&state, now: now)
            return state.current.contains(waiter) || state.previous.contains(waiter)
        }
    }

    private func rotateIfDue(_ state: inout State, now: UInt64) {
        guard now &- state.currentSince >= retention || state.current.count >= capacity else { return }
        // Idle for two generations: nothing is left worth keeping.
        let reached = state.current.count
        state.previous = now &- state.currentSince >= 2 * retention ? [] : state.current
        // Sized for as many as the last generation took: a busy lockd's set
        // is not grown (rehashed) step by step again every generation.
        state.current = Set(minimumCapacity: min(reached, capacity))
        state.currentSince = now
    }
}
