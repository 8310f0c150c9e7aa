import LockdTransport

/// Event watchers: registering them, and reporting the expiries of the
/// leases they watch — an expiry announces itself nowhere (no keyspace
/// notifications), so each lockd with watchers times the leases it heard
/// of and asks the store before it reports one.
extension LockEngine {
    /// Starts a watch (see ``LockEventHub/watch(_:prefix:within:resumingAfter:replayLimit:sink:end:)``)
    /// and follows the expiry of the leases already held under `prefix`
    /// (the first 1 000 of them). Returns once events published from now on
    /// reach the watch (or after a second, if the store is out).
    /// - Returns: Whether the events after `lastEventID` were replayed.
    @discardableResult
    public func watchEvents(_ id: UInt64, prefix: String, within names: LockNameSet, resumingAfter lastEventID: String? = nil,
                            replayLimit: Int = EventReplayRing.defaultCapacity, sink: @escaping LockEventHub.Sink,
                            end: (@Sendable () -> Void)? = nil) async -> Bool {
        let resumed = events.watch(id, prefix: prefix, within: names, resumingAfter: lastEventID, replayLimit: replayLimit,
                                   sink: sink, end: end)
        await store.waitForEvents(timeout: .seconds(1))
        if let page = try? await list(prefix: prefix, limit: 1_000, cursor: nil, within: names) {
            events.track(page.locks)
        }
        return resumed
    }

    /// Reports `expired` for watched leases the store no longer holds once
    /// their time is up, until the task is cancelled.
    func watchExpiries() async {
        while !Task.isCancelled {
            await expiryBell.wait(upTo: events.untilNextExpiry() ?? .seconds(60))
            events.endGhosts()
            for lease in events.dueLeases() {
                do throws(LockError) {
                    let status = try await store.status(of: lease.event.name)
                    if let holder = status.holders.first(where: { $0.fence == lease.event.fence }), holder.remainingMs > 0 {
                        events.stillHeld(lease, remainingMs: holder.remainingMs)
                    } else {
                        events.expired(lease)
                    }
                } catch {
                    // The store is out: look again shortly.
                    events.stillHeld(lease, remainingMs: 100)
                }
            }
        }
    }
}
