@testable import LockEngine
import LockdAPI
import LockdHTTP
import LockdTestSupport
import LockdTransport
import Testing

/// Review of a cross-loop hand-over (wip-sem, session 11: a waiter's task
/// went on on the loop that resumed it and wrote its answer from there).
/// A waiter's task goes on on its connection's loop, after that loop has
/// handled the events of its batch: a hang-up waiting there is seen first,
/// the task is cancelled, and what the store granted goes back
/// (`LockEngine.deliverable`). An answer written from another loop's thread
/// would not wait for that hang-up: `send` takes it (the peer's FIN does not
/// fail the first write), and the lease stays held by nobody for its TTL.
///
/// Session 14: not only from another loop's thread. A task queued on its
/// loop before a long job ran there goes on right after that job, in the
/// same batch, before the loop polls again — so a hang-up that came during
/// the job is still unseen when the task writes its grant. (1 run in 20 of
/// the first test had its waiter's task queued so, by its attempt's reply;
/// the second test queues it so every time.)
@Suite(.serialized) struct CrossLoopHandOffReviewTests {
    /// The waiter's loop is busy (as under load) when its client hangs up
    /// and another loop's release frees the lock: in memory the release wakes
    /// the waiter, whose task takes the lock; on Redis the release's script
    /// hands it over, and its reply is read on the releaser's loop.
    @Test(arguments: StoreKind.allCases)
    func aWaiterWhoseClientHungUpWhileItsLoopWasBusyDoesNotKeepTheGrant(store kind: StoreKind) async throws {
        try await kind.withRedis { redis in
            try await withHandOffRig(redis, label: "review-handoff") { rig in
                try await waiterWhoseClientHungUpWhileItsLoopWasBusy(rig)
            }
        }
    }

    private func waiterWhoseClientHungUpWhileItsLoopWasBusy(_ rig: HandOffRig) async throws {
        let engine = rig.engine
        let name = try LockName(uniqueLockName())
        let holder = try await engine.acquire(AcquireRequest(name: name, ttlMs: 60_000))
        let client = try RawHTTPClient(port: rig.port)
        let body = #"{"ttl_ms":60000,"wait_ms":30000}"#
        try client.send("POST /locks/\(name.value) HTTP/1.1\r\nHost: lockd\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body)
        // Queued in the store, not only here: the attempt leaves with the
        // loop's next flush, a job the hold below could otherwise precede.
        let queued = await eventually {
            guard engine.waiterCount == 1 else { return false }
            return (try? await engine.status(of: name).waiting) == 1
        }
        #expect(queued)
        let onItsLoop = await eventually { rig.releasesStayOnTheirLoop(name) }
        #expect(onItsLoop)
        let (waiterLoop, releaserLoop) = try rig.requestLoops()

        // The waiter's loop is held busy; its client hangs up meanwhile.
        let hold = LoopHold(waiterLoop)
        // Runs before the rig's teardown: a failure below must not leave
        // the loop held, or the loops' shutdown hangs.
        defer { hold.release() }
        try await hold.waitHeld()
        try await client.closeAndAwaitAcknowledgement()
        // The holder releases on the other loop. Whatever the release wakes
        // there runs before its completion's job.
        try await rig.release(name, token: holder.lease.token, on: releaserLoop)
        let fences = await rig.fences(of: name, from: releaserLoop) ?? [holder.lease.fence]
        hold.release()
        #expect(!fences.contains(holder.lease.fence), "the holder's release did not take effect")
        if rig.backend != nil { #expect(fences.contains { $0 > holder.lease.fence }, "the release did not hand the lock to the waiter") }

        // The waiter's loop sees the hang-up now: nothing may stay held for the gone client.
        let closed = await eventually(within: .seconds(5)) { rig.server.openConnectionCount == 0 }
        #expect(closed)
        var holders = -1
        _ = await eventually(within: .seconds(5)) {
            holders = await rig.fences(of: name)?.count ?? -1
            return holders == 0
        }
        #expect(holders == 0, "the lock handed to a client that had hung up is still held")
    }

    /// The interleaving behind the first test's failures, forced: the
    /// waiter's task is queued on its loop behind a long job (the release's
    /// wake-up came, or on Redis its attempt's reply was read, before the
    /// job began), the client hangs up while that job runs, and the task
    /// goes on right after it — before the loop polls and sees the hang-up.
    /// Its grant must go back; with the client still there, it is the
    /// client's. For a lock, a semaphore's slot and a reader's share alike.
    @Test(arguments: QueuedWaiter.cases)
    func aWaiterQueuedBehindALongJobWhenItsClientHungUpDoesNotKeepTheGrant(_ waiter: QueuedWaiter) async throws {
        try await waiter.store.withRedis { redis in
            try await withHandOffRig(redis, label: "review-queued") { rig in
                try await waiterQueuedBehindALongJob(waiter, rig)
            }
        }
    }

    private func waiterQueuedBehindALongJob(_ waiter: QueuedWaiter, _ rig: HandOffRig) async throws {
        let engine = rig.engine
        let name = try LockName(uniqueLockName())
        var holders: [AcquireGrant] = []
        for _ in 0..<waiter.shape.holders {
            holders.append(try await engine.acquire(AcquireRequest(name: name, ttlMs: 60_000, limit: waiter.shape.limit)))
        }
        let client = try RawHTTPClient(port: rig.port)
        let body = #"{"ttl_ms":60000,"wait_ms":30000"# + waiter.shape.fields + "}"
        try client.send("POST /locks/\(name.value) HTTP/1.1\r\nHost: lockd\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body)
        // Queued in the store (a release hands it the name), and its task
        // parked: nothing will queue that task on its loop but the release.
        // (A task still to read its attempt's reply could be queued ahead
        // of the long job, and write its grant before the client hangs up.)
        let parked = await eventually {
            guard engine.waiters.parkedQueues(names: [name]).first?.waiters.count == 1 else { return false }
            return (try? await engine.status(of: name).waiting) == 1
        }
        #expect(parked)
        let onItsLoop = await eventually { rig.releasesStayOnTheirLoop(name) }
        #expect(onItsLoop)
        let (waiterLoop, releaserLoop) = try rig.requestLoops()

        // The loop is held; the long job is queued behind what holds it,
        // then the waiter's task behind the long job, by the release.
        let hold = LoopHold(waiterLoop)
        defer { hold.release() }
        try await hold.waitHeld()
        let longJob = LoopHold(waiterLoop)
        defer { longJob.release() }
        try await rig.release(name, token: holders[0].lease.token, on: releaserLoop)
        hold.release()
        // The loop polled (nothing to see yet) and runs its batch: the long job, then the waiter's task.
        try await longJob.waitHeld()
        // (Its FIN must have reached the server's socket: one still on its way is one no server could see.)
        if waiter.hangsUp { try await client.closeAndAwaitAcknowledgement() }
        longJob.release()

        let others = Set(holders.dropFirst().map(\.lease.fence))
        guard waiter.hangsUp else {
            let response = try await client.readResponse()
            #expect(response.status == 201)
            let fences = await rig.fences(of: name) ?? []
            #expect(fences.contains { !others.contains($0) && $0 > holders[0].lease.fence }, "the waiter does not hold the lock it was answered")
            return
        }
        let closed = await eventually(within: .seconds(5)) { rig.server.openConnectionCount == 0 }
        #expect(closed)
        var fences: [Int64]?
        _ = await eventually(within: .seconds(5)) {
            fences = await rig.fences(of: name)
            return fences.map(Set.init) == others
        }
        #expect(fences.map(Set.init) == others, "the grant to a client that had hung up is still held")
        // The interleaving took place: the task answered its grant before the loop saw the hang-up.
        #expect(rig.requests.answered.withLock { $0 } == [201])
    }
}

/// A waiter of ``CrossLoopHandOffReviewTests``'s second test: on which
/// store, for what, and whether its client hangs up.
struct QueuedWaiter: Sendable, CustomTestStringConvertible {
    /// What the name's holders and the waiter take.
    enum Shape: Sendable {
        /// A lock: one holder.
        case lock
        /// A semaphore of 2: two holders, one of which releases.
        case semaphore
        /// A reader waiting for a writer.
        case shared

        var limit: Int { self == .semaphore ? 2 : 1 }
        var holders: Int { self == .semaphore ? 2 : 1 }
        /// The waiter's request fields beside its TTL and wait.
        var fields: String {
            switch self {
            case .lock: ""
            case .semaphore: #","limit":2"#
            case .shared: #","mode":"shared""#
            }
        }
    }

    let store: StoreKind
    let shape: Shape
    let hangsUp: Bool

    var testDescription: String { "\(store) \(shape)\(hangsUp ? "" : ", client stays")" }

    static let cases: [QueuedWaiter] = StoreKind.allCases.flatMap { store in
        [Shape.lock, .semaphore, .shared].map { QueuedWaiter(store: store, shape: $0, hangsUp: true) }
            + [QueuedWaiter(store: store, shape: .lock, hangsUp: false)]
    }
}
