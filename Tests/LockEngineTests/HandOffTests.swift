import LockEngine
import LockdRedis
import LockdTestSupport
import LockdTransport
import Logging
import Synchronization
import Testing

/// A release that grants the waiters at the queue's head in one step (in
/// the Redis store's release script, under the in-memory store's lock):
/// the grant reaches the waiter's lockd in the wake-up, is collected at most
/// once, and goes back when its waiter leaves instead. The tests of what a
/// store does with a grant run on both stores (``Rig``); those of Redis's
/// channel, instances and replies on Redis alone (``Fixture``).
@Suite struct HandOffTests {
    /// The wake-ups a store delivered.
    final class EventLog: Sendable {
        let wakeups = Mutex<[Wakeup]>([])
        /// Names whose notices the store said may be lost.
        let resubscribed = Mutex<[LockName]>([])

        /// The grants the wake-ups handed `waiter`.
        func grants(for waiter: WaiterID) -> [HandedGrant] {
            wakeups.withLock { $0.flatMap(\.hint.granted).filter { $0.waiter == waiter } }
        }
    }

    /// A store of either kind with its wake-ups collected, and a beat that
    /// keeps its waiters granted without asking (a Redis ``Fixture``'s; the
    /// in-memory store needs none).
    struct Rig {
        let store: any LockStore
        let events: EventLog
        let beat: (LockName) async throws -> Void

        func keepBeating(_ name: LockName) async throws { try await beat(name) }

        func grants(for waiter: WaiterID) -> [HandedGrant] { events.grants(for: waiter) }

        /// Runs `body` on a fresh store of `kind`: a Redis ``Fixture``'s, or
        /// an in-memory store listened to as the engine listens (unless not
        /// `listening`: then no engine hears its notices).
        static func with(_ kind: StoreKind, listening: Bool = true, _ body: (Rig) async throws -> Void) async throws {
            guard kind == .memory else { return try await Fixture.with(listening: listening) { try await body($0.rig) } }
            let store = InMemoryLockStore(), events = EventLog()
            let listener = !listening ? nil : Task {
                await store.deliverEvents { event in
                    if case .wakeup(let wakeup) = event { events.wakeups.withLock { $0.append(wakeup) } }
                }
            }
            defer { listener?.cancel() }
            if listening { await store.waitForEvents(timeout: .seconds(5)) }
            try await body(Rig(store: store, events: events) { _ in })
        }
    }

    /// The tasks that keep a fixture's waiters alive (``Fixture/keepBeating(_:)``).
    final class Beats: Sendable {
        let tasks = Mutex<[Task<Void, Never>]>([])
    }

    /// One store on its own Redis, with its wake-ups collected.
    struct Fixture {
        let server: RedisServerFixture
        let ownsServer: Bool
        let loops: EventLoopGroup
        let client: RedisClient
        let store: RedisLockStore
        let events: EventLog
        let listener: Task<Void, Never>?
        let beats = Beats()

        /// `sharing`: another fixture's Redis, for a second lockd instance on it.
        /// `commandTimeout`: the store's Redis client's; 5 s by default (lockd's
        /// 500 ms gives up on a Redis that a busy machine only slowed, and
        /// these tests are about hand-offs, not timeouts).
        static func start(listening: Bool = true, sharing other: Fixture? = nil, commandTimeout: Duration = .seconds(5)) async throws -> Fixture {
            let server = if let other { other.server } else { try await offThePool { try RedisServerFixture.start() } }
            let owned = other == nil
            let loops = try EventLoopGroup(loopCount: 1, namePrefix: "hand-off-test")
            var configuration = try RedisConfiguration(url: server.url)
            configuration.commandTimeout = commandTimeout
            let client = RedisClient(configuration: configuration, eventLoopGroup: loops, logger: Logger(label: "test"))
            let store = RedisLockStore(client: client, logger: Logger(label: "test"))
            let fixture = Fixture(server: server, ownsServer: owned, loops: loops, client: client, store: store, events: EventLog(),
                                  listener: nil)
            guard listening else { return fixture }
            let events = fixture.events
            let listener = Task {
                await store.deliverEvents { event in
                    switch event {
                    case .wakeup(let wakeup): events.wakeups.withLock { $0.append(wakeup) }
                    case .resubscribed(let name): events.resubscribed.withLock { $0.append(name) }
                    default: break
                    }
                }
            }
            // Subscribed to both channels: the wake-ups and its own presence.
            let instances = owned ? 1 : 2
            let subscribed = await eventually { (try? await client.send(["PUBSUB", "NUMSUB", "lockd:waiting"]).array?[1].int) == instances }
            #expect(subscribed)
            let channelsOpen = await eventually { (try? await client.send(["PUBSUB", "CHANNELS", "lockd:waiting:*"]).array?.count) == instances }
            #expect(channelsOpen)
            return Fixture(server: server, ownsServer: owned, loops: loops, client: client, store: store, events: events, listener: listener)
        }

        /// A fixture started as ``start(listening:sharing:commandTimeout:)``
        /// does, stopped when `body` returns or throws (its beats would
        /// otherwise go on against a stopped Redis until the process ends).
        static func with(listening: Bool = true, sharing other: Fixture? = nil, commandTimeout: Duration = .seconds(5),
                         _ body: (Fixture) async throws -> Void) async throws {
            let fixture = try await start(listening: listening, sharing: other, commandTimeout: commandTimeout)
            do {
                try await body(fixture)
            } catch {
                await fixture.stop()
                throw error
            }
            await fixture.stop()
        }

        /// Keeps this store's waiters on `name` alive as the engine's upkeep
        /// does (the fixture runs no engine): beats now, then every beat
        /// interval until ``stop()``. A release grants a waiter only if its
        /// instance beat within the last 250 ms (`freshBeatMs`), and a
        /// waiter whose instance stopped beating counts as gone: one beat
        /// would be stale soon after on a busy machine.
        func keepBeating(_ name: LockName) async throws {
            _ = try await store.beat(names: [name])
            let store = store
            let beating = Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: LockEngineConfiguration().beatInterval)
                    _ = try? await store.beat(names: [name])
                }
            }
            beats.tasks.withLock { $0.append(beating) }
        }

        func grants(for waiter: WaiterID) -> [HandedGrant] { events.grants(for: waiter) }

        /// This fixture as a ``Rig``.
        var rig: Rig { Rig(store: store, events: events) { try await keepBeating($0) } }

        func stop() async {
            for beating in beats.tasks.withLock({ $0 }) {
                beating.cancel()
                await beating.value
            }
            listener?.cancel()
            await listener?.value
            await client.shutdown()
            loops.shutdown()
            if ownsServer { await offThePool { server.stop() } }
        }
    }

    /// A holder, and a waiter queued behind it on a semaphore of one slot's
    /// worth of room: `limit` holders take every slot first.
    private func holderAndWaiter(_ fixture: Rig, name: LockName, limit: Int) async throws -> (holder: Lease, waiter: AcquireAttempt) {
        var holder: Lease?
        for _ in 0..<limit {
            let attempt = AcquireAttempt(name: name, token: .random(), ttlMs: 30_000, owner: nil, waiter: nil, limit: limit)
            guard case .granted(let lease, _, _) = try await fixture.store.acquire(attempt) else { throw LockError.leaseLost }
            holder = lease
        }
        let waiter = AcquireAttempt(name: name, token: .random(), ttlMs: 30_000, owner: "waiter", waiter: .random(limit: limit),
                                    waitMs: 30_000, limit: limit)
        guard case .held = try await fixture.store.acquire(waiter), let holder else { throw LockError.leaseLost }
        try await fixture.keepBeating(name)
        return (holder, waiter)
    }

    /// ``holderAndWaiter(_:name:limit:)``, then the holder's release hands
    /// the waiter its grant (the wake-up carries it).
    private func handedGrant(_ fixture: Rig, name: LockName, limit: Int) async throws
        -> (holder: Lease, waiter: AcquireAttempt, handed: HandedGrant) {
        let (holder, waiter) = try await holderAndWaiter(fixture, name: name, limit: limit)
        let waiterID = try #require(waiter.waiter)
        #expect(try await fixture.store.release(name, token: holder.token))
        let granted = await eventually { fixture.grants(for: waiterID).count == 1 }
        #expect(granted)
        return (holder, waiter, try #require(fixture.grants(for: waiterID).first))
    }

    @Test(arguments: StoreKind.allCases, [1, 3])
    func aReleaseGrantsTheWaiterAndTheWakeUpCarriesTheGrant(store: StoreKind, limit: Int) async throws {
        try await Rig.with(store) { fixture in
            let name = try LockName(uniqueLockName())
            let (holder, waiter, handed) = try await handedGrant(fixture, name: name, limit: limit)
            let waiterID = try #require(waiter.waiter)
            #expect(handed.fence > holder.fence)
            #expect(handed.grantedBefore <= MonotonicClock.now())
            // Granted in the release's script: it holds, and waits no more.
            let status = try await fixture.store.status(of: name)
            #expect(status.waiting == 0)
            #expect(status.holders.contains { $0.fence == handed.fence && $0.owner == "waiter" })
            // The waiter asking again collects that same lease, as new (its
            // client never saw it); asked once more, it is a retry.
            guard case .granted(let collected, let isRetry, _) = try await fixture.store.acquire(waiter) else {
                Issue.record("the handed grant was not collected")
                return
            }
            #expect(collected.fence == handed.fence)
            #expect(!isRetry)
            guard case .granted(_, let again, _) = try await fixture.store.acquire(waiter) else {
                Issue.record("the collected lease was lost")
                return
            }
            #expect(again)
            // Collected: a stray removal of its waiter leaves it alone.
            try await fixture.store.removeWaiter(waiterID, from: name, reclaimingGrant: true)
            #expect(try await fixture.store.status(of: name).holders.contains { $0.fence == handed.fence })
        }
    }

    /// The waiter's client hung up before its lockd delivered the handed
    /// grant, and retried with its token: the lease is that client's now,
    /// and the leaving waiter must not give it back.
    @Test(arguments: StoreKind.allCases, [1, 3])
    func aHandedGrantItsClientRetriedIntoStaysWhenItsWaiterLeaves(store: StoreKind, limit: Int) async throws {
        try await Rig.with(store) { fixture in
            let name = try LockName(uniqueLockName())
            let (_, waiter, handed) = try await handedGrant(fixture, name: name, limit: limit)
            let waiterID = try #require(waiter.waiter)
            var retry = waiter
            retry.waiter = nil
            guard case .granted(let lease, true, _) = try await fixture.store.acquire(retry) else {
                Issue.record("the retry was not answered with the handed lease")
                return
            }
            #expect(lease.fence == handed.fence)
            try await fixture.store.removeWaiter(waiterID, from: name, reclaimingGrant: true)
            #expect(try await !fixture.store.giveBack(name, token: waiter.token, grant: .fence(handed.fence), evenIfClaimed: false))
            #expect(try await fixture.store.status(of: name).holders.map(\.fence).contains(handed.fence))
        }
    }

    /// A waiter under its client's token collects the grant a release
    /// handed it, and that attempt's reply is lost (its caller hung up):
    /// the grant is the collecting attempt's, and the give-back naming that
    /// attempt's nonce ends it (no one else names it: collected, its waiter
    /// no longer reclaims it).
    @Test(arguments: StoreKind.allCases, [1, 3])
    func aCollectedGrantIsGivenBackByTheNonceOfTheAttemptThatCollectedIt(store: StoreKind, limit: Int) async throws {
        try await Rig.with(store) { fixture in
            let name = try LockName(uniqueLockName())
            let (_, waiter, handed) = try await handedGrant(fixture, name: name, limit: limit)
            var collecting = waiter
            collecting.nonce = .random()
            guard case .granted(let collected, false, _) = try await fixture.store.acquire(collecting),
                  let nonce = collecting.nonce else {
                Issue.record("the handed grant was not collected")
                return
            }
            #expect(collected.fence == handed.fence)
            #expect(try await !fixture.store.giveBack(name, token: waiter.token, grant: .attempt(.random()), evenIfClaimed: false))
            #expect(try await fixture.store.giveBack(name, token: waiter.token, grant: .attempt(nonce), evenIfClaimed: false))
            #expect(try await !fixture.store.status(of: name).holders.contains { $0.fence == handed.fence })
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aWaiterThatLeavesGivesItsGrantBackAndAPlainStrayDoesNot(store: StoreKind) async throws {
        try await Rig.with(store) { fixture in
            let name = try LockName(uniqueLockName())
            let (holder, waiter) = try await holderAndWaiter(fixture, name: name, limit: 1)
            let waiterID = try #require(waiter.waiter)
            let next = AcquireAttempt(name: name, token: .random(), ttlMs: 30_000, owner: "next", waiter: .random(), waitMs: 30_000)
            guard case .held = try await fixture.store.acquire(next) else { throw LockError.leaseLost }
            #expect(try await fixture.store.release(name, token: holder.token))
            let granted = await eventually { fixture.grants(for: waiterID).count == 1 }
            #expect(granted)
            // A plain stray removal (its waiter may have delivered the lease) keeps it.
            try await fixture.store.removeWaiter(waiterID, from: name, reclaimingGrant: false)
            #expect(try await fixture.store.status(of: name).holders.map(\.owner) == ["waiter"])
            // The waiter gone before it delivered: the lease goes back, and on to the next.
            try await fixture.store.removeWaiter(waiterID, from: name, reclaimingGrant: true)
            let nextID = try #require(next.waiter)
            let grantedAgain = await eventually { fixture.grants(for: nextID).count == 1 }
            #expect(grantedAgain)
            #expect(try await fixture.store.status(of: name).holders.map(\.owner) == ["next"])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aReconcileWakesAWaiterWhoseGrantsWakeUpWasLostInsteadOfQueueingItAgain(store: StoreKind) async throws {
        try await Rig.with(store) { fixture in
            let name = try LockName(uniqueLockName())
            let (holder, waiter) = try await holderAndWaiter(fixture, name: name, limit: 2)
            let waiterID = try #require(waiter.waiter)
            #expect(try await fixture.store.release(name, token: holder.token))
            let grantedAgain = await eventually { fixture.grants(for: waiterID).count == 1 }
            #expect(grantedAgain)
            // As after a reconnection, with that wake-up taken as lost.
            let repairs = try await fixture.store.reconcile([LocalQueue(name: name, waiters: [waiterID], waitMs: 30_000)])
            #expect(repairs.map(\.restored) == [0])
            #expect(repairs.first?.hint.wake == [waiterID])
            #expect(try await fixture.store.status(of: name).waiting == 0)
            guard case .granted(let lease, let isRetry, _) = try await fixture.store.acquire(waiter) else {
                Issue.record("the grant was not collected")
                return
            }
            #expect(lease.fence == fixture.grants(for: waiterID).first?.fence)
            #expect(!isRetry)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aWaiterWhoseLockdDoesNotListenIsOnlyWoken(store: StoreKind) async throws {
        try await Rig.with(store, listening: false) { fixture in
            let name = try LockName(uniqueLockName())
            let (holder, waiter) = try await holderAndWaiter(fixture, name: name, limit: 1)
            #expect(try await fixture.store.release(name, token: holder.token))
            let status = try await fixture.store.status(of: name)
            #expect(status.holders.isEmpty)
            #expect(status.waiting == 1)
            // It takes the name when it asks.
            guard case .granted(_, let isRetry, _) = try await fixture.store.acquire(waiter) else {
                Issue.record("the woken waiter was not granted")
                return
            }
            #expect(!isRetry)
        }
    }

    @Test func aReplicatedWaiterIsOnlyWoken() async throws {
        try await Fixture.with { fixture in
            let name = try LockName(uniqueLockName())
            let holder = AcquireAttempt(name: name, token: .random(), ttlMs: 30_000, owner: nil, waiter: nil)
            guard case .granted(let lease, _, _) = try await fixture.store.acquire(holder) else { throw LockError.leaseLost }
            // (Its WAIT times out on a server without replicas; the queue entry stays.)
            let waiter = AcquireAttempt(name: name, token: .random(), ttlMs: 30_000, owner: nil, waiter: .random(), waitMs: 30_000,
                                        durability: .replicated)
            _ = try? await fixture.store.acquire(waiter)
            try await fixture.keepBeating(name)
            #expect(try await fixture.store.status(of: name).waiting == 1)
            #expect(try await fixture.store.release(name, token: lease.token))
            let waiterID = try #require(waiter.waiter)
            let woken = await eventually { fixture.events.wakeups.withLock { $0.contains { $0.hint.wake.contains(waiterID) } } }
            #expect(woken)
            #expect(fixture.grants(for: waiterID).isEmpty)
            #expect(try await fixture.store.status(of: name).holders.isEmpty)
        }
    }

    /// Every message published on the wake-up channel from now until a
    /// marker this spy publishes itself comes back: Redis delivers a
    /// channel's messages in the order it ran their `PUBLISH`es.
    private func announcements(on fixture: Fixture, during work: () async throws -> Void) async throws -> [String] {
        let spy = RedisClient(configuration: try RedisConfiguration(url: fixture.server.url), eventLoopGroup: fixture.loops, logger: Logger(label: "spy"))
        let heard = Mutex<[String]>([])
        let subscription = try await spy.subscribe(to: ["lockd:waiting"])
        let listener = Task {
            for await event in subscription {
                if case .message(let message) = event { heard.withLock { $0.append(message.string) } }
            }
        }
        try await work()
        let marker = "marker \(UInt64.random(in: 0...UInt64.max))"
        spy.publish("lockd:waiting", message: marker)
        let heardAgain = await eventually { heard.withLock { $0.contains(marker) } }
        #expect(heardAgain)
        listener.cancel()
        subscription.cancel()
        await spy.shutdown()
        return heard.withLock { messages in Array(messages.prefix { $0 != marker }) }
    }

    /// The waiter's own lockd released: it learns of the grant from the
    /// release's reply, and nothing goes over the channel.
    @Test(arguments: [1, 3])
    func aReleaseByTheWaitersOwnInstanceHandsTheGrantInItsReplyAndPublishesNothing(limit: Int) async throws {
        try await Fixture.with { fixture in
            let name = try LockName(uniqueLockName())
            let (holder, waiter) = try await holderAndWaiter(fixture.rig, name: name, limit: limit)
            let waiterID = try #require(waiter.waiter)
            let heard = try await announcements(on: fixture) { () async throws in
                #expect(try await fixture.store.release(name, token: holder.token))
                // Delivered before the release returned: no message to wait for.
                #expect(fixture.grants(for: waiterID).count == 1)
            }
            #expect(heard.filter { $0.hasPrefix("\(name.value)\n") }.isEmpty)
            let handed = try #require(fixture.grants(for: waiterID).first)
            #expect(handed.fence > holder.fence)
            #expect(try await fixture.store.status(of: name).holders.contains { $0.fence == handed.fence && $0.owner == "waiter" })
            guard case .granted(let collected, false, _) = try await fixture.store.acquire(waiter) else {
                Issue.record("the handed grant was not collected")
                return
            }
            #expect(collected.fence == handed.fence)
        }
    }

    /// The next waiter after the one granted is another lockd's: that lockd
    /// must hear when to look again, so the release publishes as before
    /// (the grant included), and both instances follow it.
    @Test func aReleaseWithAnotherInstancesWaiterNextPublishes() async throws {
        try await Fixture.with { fixture in
            try await Fixture.with(sharing: fixture) { other in
                let name = try LockName(uniqueLockName())
                let (holder, waiter) = try await holderAndWaiter(fixture.rig, name: name, limit: 1)
                let waiterID = try #require(waiter.waiter)
                let next = AcquireAttempt(name: name, token: .random(), ttlMs: 30_000, owner: "next", waiter: .random(), waitMs: 30_000)
                guard case .held = try await other.store.acquire(next) else { throw LockError.leaseLost }
                try await other.keepBeating(name)
                try await fixture.keepBeating(name)
                let heard = try await announcements(on: fixture) { () async throws in
                    #expect(try await fixture.store.release(name, token: holder.token))
                }
                #expect(heard.contains { $0.hasPrefix("\(name.value)\n") })
                let granted = await eventually { fixture.grants(for: waiterID).count == 1 }
                #expect(granted)
                // The other instance heard it too: when its waiter should look again.
                let woken = await eventually { other.events.wakeups.withLock { $0.contains { $0.name == name && $0.hint.recheckAfterMs != nil } } }
                #expect(woken)
            }
        }
    }

    /// A release whose reply never came may have carried grants: the store
    /// says the name's notices may be lost, so the engine puts its waiters
    /// back and each collects what it was granted (as the reconcile test
    /// above shows).
    @Test func aReleaseWithoutAReplyHasTheNamesWaitersLookAgain() async throws {
        try await Fixture.with { fixture in
            let name = try LockName(uniqueLockName())
            let (holder, _) = try await holderAndWaiter(fixture.rig, name: name, limit: 1)
            let store = fixture.store
            let release = Task {
                withUnsafeCurrentTask { $0?.cancel() }
                return try await store.release(name, token: holder.token)
            }
            await #expect(throws: LockError.cancelled) { try await release.value }
            #expect(fixture.events.resubscribed.withLock { $0 } == [name])
        }
    }

    /// review2: after a release hands the name to this instance's waiter in
    /// the reply, another instance's first waiter further back must still
    /// hear when the new lease ends ("every instance's first waiter looks
    /// again", the announcement's contract): should the granting lockd die
    /// with its lease and its next waiter, nothing else tells the other
    /// instance's waiter to look again before its own, older recheck (here
    /// the released lease's 30 s) or the engine's next queue check.
    @Test func anotherInstancesFirstWaiterBehindTheNextStillHearsWhenToLookAgain() async throws {
        try await Fixture.with { fixture in
            try await Fixture.with(sharing: fixture) { other in
                let name = try LockName(uniqueLockName())
                let holder = AcquireAttempt(name: name, token: .random(), ttlMs: 30_000, owner: nil, waiter: nil)
                guard case .granted(let held, _, _) = try await fixture.store.acquire(holder) else { throw LockError.leaseLost }
                // This instance's two waiters, then the other instance's one.
                let first = AcquireAttempt(name: name, token: .random(), ttlMs: 1_000, owner: "first", waiter: .random(), waitMs: 30_000)
                let second = AcquireAttempt(name: name, token: .random(), ttlMs: 30_000, owner: "second", waiter: .random(), waitMs: 30_000)
                let behind = AcquireAttempt(name: name, token: .random(), ttlMs: 30_000, owner: "behind", waiter: .random(), waitMs: 30_000)
                guard case .held = try await fixture.store.acquire(first), case .held = try await fixture.store.acquire(second),
                      case .held = try await other.store.acquire(behind) else { throw LockError.leaseLost }
                try await fixture.keepBeating(name)
                try await other.keepBeating(name)
                #expect(try await fixture.store.release(name, token: held.token))
                let firstID = try #require(first.waiter)
                let grantedAgain = await eventually { fixture.grants(for: firstID).count == 1 }
                #expect(grantedAgain)
                // The other instance hears when the first waiter's 1 s lease ends.
                let woken = await eventually { other.events.wakeups.withLock { $0.contains { $0.name == name && ($0.hint.recheckAfterMs ?? .max) <= 1_000 } } }
                #expect(woken)
            }
        }
    }

    /// review2: the fallback's case proper — the release reached Redis and
    /// ran (granting this instance's waiter in its reply), but its caller
    /// gave up first, so the reply was dropped. The store says the name's
    /// notices may be lost, and a reconcile then hands the waiter its grant.
    @Test func aReleaseThatRanButWhoseReplyWasDroppedLeavesAGrantAReconcileHandsOver() async throws {
        // Commands wait out the pause below without timing out.
        try await Fixture.with(commandTimeout: .seconds(30)) { fixture in
            let name = try LockName(uniqueLockName())
            let (holder, waiter) = try await holderAndWaiter(fixture.rig, name: name, limit: 1)
            let waiterID = try #require(waiter.waiter)
            let spy = RedisClient(configuration: try RedisConfiguration(url: fixture.server.url), eventLoopGroup: fixture.loops, logger: Logger(label: "spy"))
            // The release script cached first (a NOSCRIPT reply would leave the retry to a caller that gave up).
            #expect(try await !fixture.store.release(name, token: .random()))
            // Scripts wait in Redis until the unpause below: the release is sent, not run yet.
            _ = try await spy.send(["CLIENT", "PAUSE", "30000", "WRITE"])
            let store = fixture.store
            let release = Task { try await store.release(name, token: holder.token) }
            let blocked = await eventually {
                guard let info = (try? await spy.send(["INFO", "clients"]))?.string else { return false }
                return info.contains("blocked_clients:1")
            }
            #expect(blocked)
            release.cancel()
            // The cancel reaches the release's connection (a job on its loop,
            // queued before these) before the pause ends: its caller is
            // answered `cancelled` once the reply comes — the release may
            // still run, and must not run after what the caller does next.
            for loop in fixture.loops.loops {
                await withCheckedContinuation { (ran: CheckedContinuation<Void, Never>) in loop.execute { ran.resume() } }
            }
            _ = try await spy.send(["CLIENT", "UNPAUSE"])
            await #expect(throws: LockError.cancelled) { try await release.value }
            #expect(fixture.events.resubscribed.withLock { $0 } == [name])
            // The pause ends and the release runs: the waiter is granted, and
            // nothing is published for it (its grant was in the dropped reply).
            let grantedAgain = await eventually { (try? await fixture.store.status(of: name))?.holders.first?.owner == "waiter" }
            #expect(grantedAgain)
            #expect(fixture.grants(for: waiterID).isEmpty)
            // What the engine does after `resubscribed`: the reconcile wakes it to collect.
            let repairs = try await fixture.store.reconcile([LocalQueue(name: name, waiters: [waiterID], waitMs: 30_000)])
            #expect(repairs.first?.hint.wake == [waiterID])
            guard case .granted(let lease, false, _) = try await fixture.store.acquire(waiter) else {
                Issue.record("the grant made by the dropped release was not collected")
                return
            }
            #expect(lease.fence > holder.fence)
            await spy.shutdown()
        }
    }
}
