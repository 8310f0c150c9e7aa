import Synchronization

/// Stands between a resumed watch and its sink: events delivered while
/// the replay of what the reader missed is being queued wait here, so the
/// reader gets the replay first and everything in order.
///
/// The sink runs under the gate's lock (never the hub's): a sink that ends
/// its stream may call back into the hub, which never calls a gate while
/// holding its own lock.
final class ReplayGate: Sendable {
    private struct State {
        var open = false
        var alive = true
        var held: [LockEventHub.Delivery] = []
    }

    private let state = Mutex(State())
    private let sink: LockEventHub.Sink

    init(sink: @escaping LockEventHub.Sink) {
        self.sink = sink
    }

    /// The hub's sink for the watch: passes `delivery` on once the gate is
    /// open, holds it until then; false once the sink wants no more.
    func deliver(_ delivery: LockEventHub.Delivery) -> Bool {
        state.withLock { state in
            guard state.alive else { return false }
            guard state.open else {
                state.held.append(delivery)
                return true
            }
            state.alive = sink(delivery)
            return state.alive
        }
    }

    /// Hands the sink `replay`, then what was held, and lets later
    /// deliveries through; false if the sink wanted no more on the way.
    func open(replaying replay: [LockEventHub.Delivery]) -> Bool {
        state.withLock { state in
            for delivery in replay + state.held where !sink(delivery) {
                state.alive = false
                break
            }
            state.held = []
            state.open = true
            return state.alive
        }
    }
}
