import LockEngine

extension LockEngine {
    /// Waits until the store holds `count` queued waiters on `name` (its
    /// status's `waiting`), up to 30 s: waiters started one after another
    /// then hold their places in that order, and a release finds them
    /// queued, however busy the machine — where a fixed sleep after
    /// starting each one raced its trip to the store.
    ///
    /// ```swift
    /// let waiter = Task { try await engine.acquire(AcquireRequest(name: name, ttlMs: 5_000, waitMs: 10_000)) }
    /// try await engine.untilQueued(1, on: name)
    /// ```
    /// - Throws: ``TestFailure`` when the count is not reached in time.
    public func untilQueued(_ count: Int, on name: LockName) async throws {
        var seen = -1
        let queued = await eventually(within: .seconds(30)) {
            seen = (try? await status(of: name).waiting) ?? -1
            return seen == count
        }
        if !queued { throw TestFailure("\(count) waiters were to be queued on \(name.value); the store had \(seen)") }
    }
}

extension TestLockd {
    /// ``LockEngine/untilQueued(_:on:)`` on this lockd's engine, by the name's text.
    public func untilQueued(_ count: Int, on name: String) async throws {
        try await engine.untilQueued(count, on: LockName(name))
    }
}
