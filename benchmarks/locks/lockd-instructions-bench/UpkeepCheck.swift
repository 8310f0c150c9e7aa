import LockEngine

/// The bench's start-up proof that the engine's own loop (``LockEngine/run()``:
/// the store's notices, heartbeats, queue checks, expiry upkeep) runs in this
/// process, as it does in lockd: a waiter queued behind a lease must be
/// answered soon after the lease is released, not when its wait ends.
///
/// The loop once ran in a top-level `Task`, which is the main actor's, and
/// the bench's main thread only `pause()`s, so it never ran: a queued waiter
/// was answered only when its wait ended, and the guard counted no upkeep.
///
/// ```swift
/// if let failure = await UpkeepCheck.run(engine: engine) { print(failure); exit(1) }
/// ```
enum UpkeepCheck {
    /// How long the check's waiter may wait: far longer than
    /// ``answeredWithin``, so that an answer given only when the wait ends
    /// cannot pass.
    static let waitMs: Int64 = 15_000
    /// The latest the waiter may be answered after the release: lockd
    /// answers in well under a millisecond; valgrind, translating the
    /// path's code the first time, takes a good deal longer.
    static let answeredWithin: Duration = .seconds(5)
    /// The longest the waiter may take to reach the store's queue.
    static let queuedWithin: Duration = .seconds(10)

    /// Holds a fresh name, queues a waiter behind the holder (seen in the
    /// store's queue, not just in this process), releases, and times the
    /// waiter's grant; gives the grant back. Returns why the check failed,
    /// or nil when the waiter was granted within ``answeredWithin``.
    static func run(engine: LockEngine) async -> String? {
        let clock = ContinuousClock()
        do throws(LockError) {
            let name = try LockName("lockd-instructions-bench-upkeep-\(UInt64.random(in: 0 ... .max))")
            let holder = try await engine.acquire(AcquireRequest(name: name, ttlMs: 30_000))
            let waiter = Task { try await engine.acquire(AcquireRequest(name: name, ttlMs: 30_000, waitMs: waitMs)) }
            // Waited on by asking the store: a release before the waiter's
            // attempt reached the queue would let it take the free name at
            // once, and the check would pass with no loop running.
            let queueDeadline = clock.now.advanced(by: queuedWithin)
            while try await engine.status(of: name).waiting == 0 {
                guard clock.now < queueDeadline else {
                    waiter.cancel()
                    return "the check's waiter did not reach the store's queue within \(queuedWithin)"
                }
                try? await Task.sleep(for: .milliseconds(1))
            }
            let released = clock.now
            try await engine.release(name, token: holder.lease.token)
            let grant: AcquireGrant
            do {
                grant = try await waiter.value
            } catch {
                return "the check's waiter was not granted after the release (\(error)): the engine's loop does not run"
            }
            let answeredAfter = clock.now - released
            try await engine.release(name, token: grant.lease.token)
            guard answeredAfter < answeredWithin else {
                return "the check's waiter was granted \(answeredAfter) after the release, not within \(answeredWithin): "
                    + "the engine's loop does not run"
            }
            return nil
        } catch {
            return "the upkeep check failed: \(error)"
        }
    }
}
