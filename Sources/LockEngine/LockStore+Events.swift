/// What a store that carries no events does: nobody watches, nothing is
/// published. The reporting releases fall back on reading the holders
/// before and after (two more round trips), which is right as long as no
/// other holder of the name ends at the same moment.
extension LockStore {
    public var mayHaveEventWatchers: Bool { false }

    public func mayWatch(_ name: LockName) -> Bool { mayHaveEventWatchers }

    public func setWatchedPrefixes(_ prefixes: [String]) {}

    public func publish(_ event: LockEvent) {}

    public func setEventInterest(_ interested: Bool) {}

    public func waitForEvents(timeout: Duration) async {}

    public func releaseReportingHolder(_ name: LockName, token: LeaseToken) async throws(LockError) -> Holder? {
        let before = try await status(of: name).holders
        guard try await release(name, token: token) else { return nil }
        let after = try await status(of: name).holders
        return before.first { holder in !after.contains { $0.fence == holder.fence } } ?? before.first
    }

    public func forceReleaseReportingHolder(_ name: LockName, fence: Int64) async throws(LockError) -> (token: LeaseToken, holder: Holder)? {
        let holder = try await status(of: name).holders.first { $0.fence == fence }
        guard let token = try await forceRelease(name, fence: fence) else { return nil }
        return (token, holder ?? Holder(owner: nil, fence: fence, expiresAtMs: WallClock.milliseconds(), remainingMs: 0))
    }
}
