import LockdTransport
import Synchronization

/// Why a parked waiter resumed.
enum WakeReason: Sendable, Equatable {
    /// The store said to try again (a release, or the waiter reached the head).
    case woken
    /// Its own timer fired: the holder's lease expiry or the wait deadline.
    case timer
    /// Its task was cancelled: the client went away.
    case cancelled
    /// lockd is shutting down.
    case shutdown
}

/// This process's waiting acquires: where wake-ups, timers and cancellation
/// meet the task that waits.
///
/// A wake-up that arrives while its waiter is between attempts (talking to
/// the store) is remembered, so the next `park` returns at once and no
/// release is missed.
final class WaiterRegistry: Sendable {
    private struct Entry {
        var name: LockName
        var continuation: CheckedContinuation<WakeReason, Never>?
        var pendingWake = false
        /// Tells this park's timer from older ones that are still scheduled.
        var generation: UInt64 = 0
    }

    private struct State {
        var entries: [WaiterID: Entry] = [:]
        var isShuttingDown = false
    }

    private let state = Mutex(State())
    private let loops: EventLoopGroup

    init(loops: EventLoopGroup) {
        self.loops = loops
    }

    /// Registers a waiter before its first attempt; false when shutting down.
    func add(_ waiter: WaiterID, name: LockName) -> Bool {
        state.withLock { state in
            guard !state.isShuttingDown else { return false }
            state.entries[waiter] = Entry(name: name)
            return true
        }
    }

    /// Forgets a waiter (granted, timed out, cancelled or failed).
    func remove(_ waiter: WaiterID) {
        let continuation = state.withLock { $0.entries.removeValue(forKey: waiter)?.continuation }
        continuation?.resume(returning: .cancelled)
    }

    /// Parks the calling task until `waiter` is woken, `delay` passes, its
    /// task is cancelled, or lockd shuts down.
    func park(_ waiter: WaiterID, for delay: Duration) async -> WakeReason {
        let loop = loops.currentOrNext()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<WakeReason, Never>) in
                let immediate = state.withLock { state -> WakeReason? in
                    if state.isShuttingDown { return .shutdown }
                    if Task.isCancelled { return .cancelled }
                    guard var entry = state.entries[waiter] else { return .cancelled }
                    if entry.pendingWake {
                        entry.pendingWake = false
                        state.entries[waiter] = entry
                        return .woken
                    }
                    entry.generation &+= 1
                    entry.continuation = continuation
                    let generation = entry.generation
                    state.entries[waiter] = entry
                    loop.execute {
                        loop.scheduleTimer(after: delay) { [self] in
                            self.resume(waiter, with: .timer, generation: generation)
                        }
                    }
                    return nil
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            resume(waiter, with: .cancelled, generation: nil)
        }
    }

    /// Wakes `waiter` if it is parked, or makes its next park return at once.
    func wake(_ waiter: WaiterID) {
        let continuation = state.withLock { state -> CheckedContinuation<WakeReason, Never>? in
            guard var entry = state.entries[waiter] else { return nil }
            guard let continuation = entry.continuation else {
                entry.pendingWake = true
                state.entries[waiter] = entry
                return nil
            }
            entry.continuation = nil
            state.entries[waiter] = entry
            return continuation
        }
        continuation?.resume(returning: .woken)
    }

    /// The waiters of this process by lock, for heart-beating.
    func snapshot() -> [LockName: [WaiterID]] {
        state.withLock { state in
            var byName: [LockName: [WaiterID]] = [:]
            for (waiter, entry) in state.entries { byName[entry.name, default: []].append(waiter) }
            return byName
        }
    }

    /// How many acquires are waiting now.
    var count: Int { state.withLock { $0.entries.count } }

    /// Refuses new waiters and resumes every parked one with `.shutdown`.
    func shutDown() {
        let continuations = state.withLock { state -> [CheckedContinuation<WakeReason, Never>] in
            state.isShuttingDown = true
            var parked: [CheckedContinuation<WakeReason, Never>] = []
            for waiter in state.entries.keys {
                if let continuation = state.entries[waiter]?.continuation {
                    parked.append(continuation)
                    state.entries[waiter]?.continuation = nil
                }
            }
            return parked
        }
        for continuation in continuations { continuation.resume(returning: .shutdown) }
    }

    /// Whether shutdown has begun.
    var isShuttingDown: Bool { state.withLock { $0.isShuttingDown } }

    private func resume(_ waiter: WaiterID, with reason: WakeReason, generation: UInt64?) {
        let continuation = state.withLock { state -> CheckedContinuation<WakeReason, Never>? in
            guard var entry = state.entries[waiter], let continuation = entry.continuation else { return nil }
            if let generation, generation != entry.generation { return nil }
            entry.continuation = nil
            state.entries[waiter] = entry
            return continuation
        }
        continuation?.resume(returning: reason)
    }
}
