extension Lease {
    /// Suspends until the lease ends, and says how: `true` if it was lost,
    /// `false` if it was released. Returns at once if it already ended.
    ///
    /// The counterpart of DistributedLock's `HandleLostToken` and etcd's
    /// `Session.Done()`: race it against the work the lease protects. A normal
    /// release is never reported as a loss.
    ///
    /// ```swift
    /// try await withThrowingTaskGroup(of: Void.self) { group in
    ///     group.addTask { try await migrate(fence: lease.fence) }
    ///     group.addTask {
    ///         if try await lease.waitUntilLost() { throw LockError.leaseLost }
    ///     }
    ///     try await group.next()   // the work ends, or the lease is lost
    ///     group.cancelAll()
    /// }
    /// try await lease.release()
    /// ```
    ///
    /// - Returns: `true` when the lease was lost, `false` when it was released
    ///   (or ran out while its release could not reach lockd).
    /// - Throws: `CancellationError` if the calling task is cancelled first.
    public func waitUntilLost() async throws -> Bool {
        while true {
            try Task.checkCancellation()
            let (phase, deadline, version) = update { state in
                (state.expire(ifDueAt: .now), (state.phase, state.deadline, state.version))
            }
            switch phase {
            case .lost: return true
            case .released: return false
            case .held, .releasing: break
            }
            await withTaskGroup(of: Void.self) { group in
                group.addTask { try? await Task.sleep(until: deadline, clock: .continuous) }
                group.addTask { await self.nextChange(after: version) }
                await group.next()
                group.cancelAll()
            }
        }
    }

    /// Returns after the next change to the state past `version`, or when cancelled.
    private func nextChange(after version: UInt64) async {
        let id = state.withLock { $0.makeWaiterID() }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                // Checked under the lock that onCancel also takes: either onCancel
                // finds the waiter, or this sees the cancellation and never registers.
                let registered = state.withLock { state in
                    !Task.isCancelled && state.wait(after: version, id: id, continuation)
                }
                if !registered { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.cancelWait(id: id) }?.resume()
        }
    }
}
