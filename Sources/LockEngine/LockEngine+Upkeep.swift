import LockdTransport
import Logging

/// Keeping this process's waiters in the store's queues through faults: the
/// store's notices, the liveness beat, putting back what the store forgot,
/// and riding out short outages.
extension LockEngine {
    /// Work the upkeep task owes.
    struct PendingUpkeep {
        /// Put every parked waiter back: the store reconnected or lost data.
        var reconcileAll = false
        /// How often ``reconcileAll`` was asked for: what makes the upkeep
        /// look at every queue, told apart (by tests) from a renewed
        /// subscription's look at its own names'.
        var reconcileAllAsked = 0
        /// Put back these names' parked waiters: their notices may be lost.
        var reconcileNames: Set<LockName> = []
        /// Queue entries of this process that no waiter owns any more (a
        /// waiter put back just as it was granted): they would block the queue.
        var strays: Set<Stray> = []
        /// Leases granted to callers that had gone, whose release failed.
        var givenBack: [GivenBack] = []

        /// Every parked waiter is to be put back: the store reconnected, or
        /// this process's beat came too late (its waiters may have been
        /// dropped as gone).
        mutating func askReconcileAll() {
            reconcileAll = true
            reconcileAllAsked += 1
        }
    }

    /// A grant to give back: see ``LockStore/giveBack(_:token:grant:evenIfClaimed:)``.
    struct GivenBack {
        var name: LockName
        var token: LeaseToken
        var grant: GrantIdentity
        var evenIfClaimed: Bool
        /// The lease, when it was counted and told as granted: its end is
        /// counted and told too (``givenBack(announced:)``).
        var announced: Lease?
    }

    /// At most this many leases wait to be given back; past it the oldest
    /// half is left to its TTL (the store has been gone for a long time).
    /// Half at once: during an outage every acquire answered 503 adds one,
    /// and dropping one at a time would shift the whole list each time.
    static let givenBackLimit = 10_000

    /// Gives back `token`'s `grant` on `name` from the clean-up task, once
    /// the store serves: within a beat interval, without ringing it (in an
    /// outage each 503 would wake it to fail once more).
    func giveBackLater(_ name: LockName, token: LeaseToken, grant: GrantIdentity, evenIfClaimed: Bool, announced: Lease? = nil) {
        pendingUpkeep.withLock { upkeep in
            if upkeep.givenBack.count >= Self.givenBackLimit { upkeep.givenBack.removeFirst(Self.givenBackLimit / 2) }
            upkeep.givenBack.append(GivenBack(name: name, token: token, grant: grant, evenIfClaimed: evenIfClaimed, announced: announced))
        }
    }

    struct Stray: Hashable {
        var name: LockName
        var waiter: WaiterID
        /// Whether a lease granted to it without asking goes back: it never
        /// reached a waiter (it came for one no longer here, or for one that
        /// gave up but could not tell the store).
        var reclaimingGrant = false
    }

    /// Delivers the store's notices and keeps this process's waiters alive
    /// and queued until the task is cancelled. Run it for as long as the
    /// engine serves.
    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [self] in
                await store.deliverEvents { [self] event in handle(event) }
            }
            // On the global executor, which serves no requests (they run on
            // the loops); its timer runs on the engine's upkeep loop. Not on
            // that loop itself: a loop stopped first would strand the task.
            group.addTask { [self] in
                await keepWaitersQueued()
            }
            group.addTask { [self] in
                await keepCleaningUp()
            }
            group.addTask { [self] in
                await watchExpiries()
            }
        }
    }

    private func handle(_ event: StoreEvent) {
        switch event {
        case .wakeup(let wakeup):
            follow(wakeup.hint, on: wakeup.name, isOrdered: wakeup.isOrdered)
        case .reconnected:
            pendingUpkeep.withLock { $0.askReconcileAll() }
            waiters.wakeOutageParked()
            upkeep.ring()
        case .resubscribed(let name):
            pendingUpkeep.withLock { _ = $0.reconcileNames.insert(name) }
            upkeep.ring()
        case .lock(let event):
            events.receive(event)
        case .eventsMissed:
            events.breakContinuity()
        }
    }

    /// Hands the waiters a hint names their grants, wakes the others, and
    /// sets the name's recheck.
    func follow(_ hint: WaitHint, on name: LockName, isOrdered: Bool) {
        // Most grants come with no hint: nothing to filter or join. Checked
        // before the frame of the rest is set up (~190 instructions a grant).
        if hint.granted.isEmpty, hint.wake.isEmpty, hint.recheckAfterMs == nil { return }
        act(on: hint, name: name, isOrdered: isOrdered)
    }

    /// ``follow(_:on:isOrdered:)`` for a hint that asks something.
    @inline(never)
    private func act(on hint: WaitHint, name: LockName, isOrdered: Bool) {
        // A grant for a waiter no longer here was never delivered — unless
        // this is a duplicate of its announcement (pub/sub may repeat one):
        // the others go back. A plain wake-up's waiter may have collected
        // one: only its queue entry goes.
        let strays = hint.granted
            .filter { !waiters.wake($0.waiter, as: .granted($0)) && !deliveredGrants.contains($0.waiter) }
            .map { Stray(name: name, waiter: $0.waiter, reclaimingGrant: true) }
            + hint.wake.filter { !waiters.wake($0) }.map { Stray(name: name, waiter: $0) }
        if !strays.isEmpty {
            pendingUpkeep.withLock { $0.strays.formUnion(strays) }
            cleanupBell.ring()
        }
        if let afterMs = hint.recheckAfterMs {
            waiters.recheck(name, afterMs: afterMs, replacing: isOrdered)
        }
    }

    // MARK: Outages

    /// Notes that the store served a call.
    func storeServed() {
        if outageSince.load(ordering: .relaxed) != 0 { outageSince.store(0, ordering: .relaxed) }
    }

    /// Notes that a store call failed.
    /// - Returns: when the outage's grace ends (monotonic ns), or nil when it has.
    func storeFailed() -> UInt64? {
        let now = MonotonicClock.now()
        var since = outageSince.load(ordering: .relaxed)
        if since == 0 {
            let (exchanged, original) = outageSince.compareExchange(expected: 0, desired: now, ordering: .relaxed)
            since = exchanged ? now : original
        }
        let end = since + MonotonicClock.nanoseconds(configuration.outageGrace)
        return now < end ? end : nil
    }

    // MARK: Upkeep

    /// Every beat: tell the store this process lives and put back waiters
    /// it forgot; now and then check that each queue is still there. (Stray
    /// entries go in ``keepCleaningUp()``.)
    private func keepWaitersQueued() async {
        let beatInterval = MonotonicClock.nanoseconds(configuration.beatInterval)
        var nextBeat = MonotonicClock.now()
        var nextCheck = MonotonicClock.now() + MonotonicClock.nanoseconds(configuration.queueCheckInterval)
        while !Task.isCancelled {
            let now = MonotonicClock.now()
            await upkeep.wait(upTo: .nanoseconds(Int64(nextBeat > now ? nextBeat - now : 0)))
            guard !Task.isCancelled else { return }
            let names = waiters.names
            // The beat first: removals, however many, must not delay it past
            // the liveness window. (Rung early — a reconnection, a stray —
            // no beat is due yet.)
            var beatFailed = false
            if names.isEmpty {
                pendingUpkeep.withLock { upkeep in
                    upkeep.reconcileAll = false
                    upkeep.reconcileNames = []
                }
                nextBeat = MonotonicClock.now() + beatInterval
            } else if MonotonicClock.now() >= nextBeat {
                nextBeat = MonotonicClock.now() + beatInterval
                do {
                    let kept = try await store.beat(names: names)
                    storeServed()
                    if !kept { pendingUpkeep.withLock { $0.askReconcileAll() } }
                } catch {
                    beatFailed = true
                    if storeFailed() == nil {
                        // Parked waiters would sleep through the outage until
                        // their waits ran out: wake them to answer 503.
                        logger.debug("the lock store is still unavailable; waking waiters", metadata: ["error": "\(error)"])
                        waiters.wakeAll()
                    }
                }
            }
            guard !names.isEmpty, !beatFailed else { continue }
            let (reconcileAll, reconcileNames) = pendingUpkeep.withLock { upkeep in
                defer {
                    upkeep.reconcileAll = false
                    upkeep.reconcileNames = []
                }
                return (upkeep.reconcileAll, upkeep.reconcileNames)
            }
            if reconcileAll {
                // (The reconcile also renews this process's liveness.)
                if await reconcile(waiters.parkedQueues()) == nil {
                    pendingUpkeep.withLock { $0.reconcileAll = true }
                }
            } else if !reconcileNames.isEmpty {
                // One channel renewed: the other names' notices were not lost.
                if await reconcile(waiters.parkedQueues(names: reconcileNames)) == nil {
                    pendingUpkeep.withLock { $0.reconcileNames.formUnion(reconcileNames) }
                }
            } else if MonotonicClock.now() >= nextCheck {
                nextCheck = MonotonicClock.now() + MonotonicClock.nanoseconds(configuration.queueCheckInterval)
                // Each name's oldest parked waiter stands for its queue: a
                // queue the store lost (evicted, say) is then put back whole.
                let damaged = Set((await reconcile(waiters.parkedQueues(firstOnly: true)) ?? []).filter { $0.restored > 0 }.map(\.name))
                if !damaged.isEmpty { _ = await reconcile(waiters.parkedQueues(names: damaged)) }
            }
        }
    }

    /// Puts these waiters back where the store forgot them and follows the
    /// store's hints; nil when the store failed.
    private func reconcile(_ queues: [LocalQueue]) async -> [QueueRepair]? {
        guard !queues.isEmpty else { return [] }
        do {
            let repairs = try await store.reconcile(queues)
            storeServed()
            for repair in repairs {
                if repair.restored > 0 {
                    logger.info("put waiters back in a queue the store had lost", metadata: [
                        "lock.name": "\(repair.name)", "waiters": "\(repair.restored)",
                    ])
                    metrics.waitersRestored(repair.restored)
                }
                follow(repair.hint, on: repair.name, isOrdered: false)
            }
            return repairs
        } catch {
            _ = storeFailed()
            logger.debug("could not reconcile waiters; trying again", metadata: ["error": "\(error)"])
            return nil
        }
    }

    /// Every beat interval, and at once when a stray is noted: removes the
    /// stray queue entries, then gives back the leases no one will have.
    /// A task of its own, not a step of the beat's: thousands of them (an
    /// outage's 503s), or one call hanging up to its timeout, must never
    /// hold back the beat that keeps this process's waiters queued.
    private func keepCleaningUp() async {
        while !Task.isCancelled {
            await cleanupBell.wait(upTo: configuration.beatInterval)
            guard !Task.isCancelled else { return }
            await removeStrays()
            await giveBack()
        }
    }

    /// Releases what ``giveBackLater(_:token:grant:evenIfClaimed:announced:)`` queued, oldest first; what
    /// fails stays for the next round.
    private func giveBack() async {
        let store = store
        await drain(take: { upkeep, count in
            let batch = Array(upkeep.givenBack.prefix(count))
            upkeep.givenBack.removeFirst(batch.count)
            return batch
        }, putBack: { upkeep, leases in
            upkeep.givenBack.insert(contentsOf: leases, at: 0)
            if upkeep.givenBack.count > Self.givenBackLimit { upkeep.givenBack.removeFirst(Self.givenBackLimit / 2) }
        }) { [self] item in
            // A store that counts its leases says whether it counted this one.
            if storeCountsLeases, let lease = item.announced {
                let given = countingStore?.giveBackCountingAtOnce(item.name, token: item.token, grant: item.grant,
                                                                   evenIfClaimed: item.evenIfClaimed)
                if given?.counted == true { givenBack(announced: lease, countedByStore: true) }
                return true
            }
            guard let ended = try? await store.giveBack(item.name, token: item.token, grant: item.grant, evenIfClaimed: item.evenIfClaimed)
            else { return false }
            // Not ended now, yet not run out: the give-back that failed ran
            // after all (a store that froze, not one that was gone).
            if let lease = item.announced, ended || lease.expiresAtMs > WallClock.milliseconds() { givenBack(announced: lease) }
            return true
        }
    }

    /// Removes the stray entries; what fails stays for the next round.
    private func removeStrays() async {
        let store = store
        await drain(take: { upkeep, count in
            let batch = Array(upkeep.strays.prefix(count))
            upkeep.strays.subtract(batch)
            return batch
        }, putBack: { upkeep, strays in
            upkeep.strays.formUnion(strays)
        }) { stray in
            (try? await store.removeWaiter(stray.waiter, from: stray.name, reclaimingGrant: stray.reclaimingGrant)) != nil
        }
    }

    /// Does `work` on the pending items `take` hands out, up to
    /// ``strayConcurrency`` at once (they pipeline on the store's
    /// connections rather than take a round trip each), until none is left
    /// or one fails (the store is out: the failed go back, in their order).
    private func drain<Item: Sendable>(
        take: (inout PendingUpkeep, Int) -> [Item],
        putBack: (inout PendingUpkeep, [Item]) -> Void,
        _ work: @escaping @Sendable (Item) async -> Bool
    ) async {
        while !Task.isCancelled {
            let batch = pendingUpkeep.withLock { take(&$0, Self.strayConcurrency) }
            guard !batch.isEmpty else { return }
            let failed = await withTaskGroup(of: Int?.self) { group in
                for (index, item) in batch.enumerated() {
                    group.addTask { await work(item) ? nil : index }
                }
                return await group.reduce(into: [Int]()) { failed, index in if let index { failed.append(index) } }
            }
            guard failed.isEmpty else {
                pendingUpkeep.withLock { putBack(&$0, failed.sorted().map { batch[$0] }) }
                return
            }
        }
    }

    /// How many stray removals or give-backs are in flight at once.
    static let strayConcurrency = 64
}
