import LockdTransport
import Synchronization

/// Lets one task sleep until a period ends or someone rings: the engine's
/// upkeep runs every beat, and at once when the store reconnects.
///
/// A ring while nobody waits is kept, so the next wait returns at once.
final class Doorbell: Sendable {
    private struct State {
        var rung = false
        var waiter: CheckedContinuation<Void, Never>?
        /// Tells this wait's timer from older ones still scheduled.
        var generation: UInt64 = 0
    }

    private let state = Mutex(State())
    private let loop: EventLoop

    /// A doorbell whose timers run on `loop`.
    init(loop: EventLoop) {
        self.loop = loop
    }

    /// Ends the current wait, or the next one at once.
    func ring() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiter else {
                state.rung = true
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume()
    }

    /// Waits until rung, `period` passes or the task is cancelled.
    func wait(upTo period: Duration) async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let generation = state.withLock { state -> UInt64? in
                    if state.rung || Task.isCancelled {
                        state.rung = false
                        return nil
                    }
                    state.generation &+= 1
                    state.waiter = continuation
                    return state.generation
                }
                guard let generation else {
                    continuation.resume()
                    return
                }
                loop.execute { [self] in
                    loop.scheduleTimer(after: period) { [self] in timeOut(generation) }
                }
            }
        } onCancel: {
            ring()
        }
    }

    private func timeOut(_ generation: UInt64) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard state.generation == generation, let waiter = state.waiter else { return nil }
            state.waiter = nil
            return waiter
        }
        waiter?.resume()
    }
}
