import LockdRedis
import Logging
import LockdTransport
import RESP
import Synchronization

/// The product's ``LockStore``: every lease in Redis, shared by all lockd
/// instances that use the same Redis. Each operation is one script call.
///
/// Each store is one lockd instance with a random id; its waiters' queue
/// entries carry that id, and ``beat(names:)`` keeps the id alive (see
/// ``RedisLockScripts``). A waiter counts as gone when its instance has not
/// beaten for ``livenessWindowMs``.
///
/// ```swift
/// let client = RedisClient(configuration: try RedisConfiguration(url: "redis://127.0.0.1:6379"), eventLoopGroup: loops, logger: logger)
/// let store = RedisLockStore(client: client, logger: logger)
/// ```
public final class RedisLockStore: LockStore {
    let client: RedisClient
    private let livenessClient: RedisClient
    let livenessKeys: RedisLivenessKeys
    /// How long an instance counts as alive after a beat, in milliseconds:
    /// longer than the engine's beat interval plus the longest stall (a
    /// paused VM, a starved CPU) that must not cost a waiter its place.
    /// One constant for every instance, as the scripts read it too.
    public static let livenessWindowMs: Int64 = 600
    private let livenessWindowArgument = String(RedisLockStore.livenessWindowMs)
    /// How long a `replicated` grant or renewal waits for a replica's
    /// acknowledgement (`--replication-timeout-ms`).
    private let replicationTimeout: Duration
    /// This instance's id in the queues.
    let instanceID: String
    private let logger: Logger
    private let metrics: LockMetrics
    /// When a failure was last logged at warning level (monotonic nanoseconds).
    private let lastWarning = Atomic<UInt64>(0)
    /// Set by a failed script call answered by callback, cleared by a served
    /// one: while set, such calls take their caller's log metadata when they
    /// start (see ``callStart()``).
    private let callsFailing = Atomic<Bool>(false)
    /// The wake-up subscription failing again and again (a channel the
    /// Redis user may not use, a node down) warns now and then.
    private let subscriptionWarnings = Throttle(interval: .seconds(10))
    /// Dates Redis's grants on this process's monotonic clock.
    private let clockOffset = StoreClockOffset()
    /// Lock events to and from the other instances (RedisLockStore+Events.swift).
    let eventChannel: RedisEventChannel

    /// The scripts, in the deployment's variant (see ``RedisLockScripts/sharded(_:)``),
    /// each also a function of the variant's library (``RedisLockScripts/library(sharded:)``).
    struct Scripts: Sendable {
        var acquire, renew, release, forceRelease, status, removeWaiter, beat, reconcile: RedisScript

        init(sharded: Bool) {
            let library = RedisLockScripts.library(sharded: sharded)
            func script(_ script: RedisLockScripts.Script) -> RedisScript {
                RedisScript(sharded ? RedisLockScripts.sharded(script.text) : script.text, function: library.function(script.name))
            }
            acquire = script(RedisLockScripts.acquire)
            renew = script(RedisLockScripts.renew)
            release = script(RedisLockScripts.release)
            forceRelease = script(RedisLockScripts.forceRelease)
            status = script(RedisLockScripts.status)
            removeWaiter = script(RedisLockScripts.removeWaiter)
            beat = script(RedisLockScripts.beat)
            reconcile = script(RedisLockScripts.reconcile)
        }

        static let classic = Scripts(sharded: false)
        static let sharded = Scripts(sharded: true)
    }
    let scripts: Scripts
    /// In a Redis Cluster: the per-name shard channels this instance
    /// listens on (nil: one classic channel for every name).
    private let shardWakeups: RedisShardWakeups?
    /// The engine's handler while ``deliverEvents(to:)`` runs: a release
    /// hands it the wake-ups of this instance's own waiters from the
    /// script's reply (see ``endLease(_:token:givenBack:cancellation:completion:)``).
    private let ownWakeups = Mutex<EventHandler?>(nil)

    /// A handler in a struct: a bare closure in a generic `Mutex` is
    /// reabstracted on every `withLock`, and as its `inout` value is
    /// written back each access wraps it in two more thunks — a chain that
    /// grows with every release until the stack overflows.
    private struct EventHandler: Sendable {
        let handle: @Sendable (StoreEvent) -> Void
    }

    /// Creates a store over `client`.
    /// - Parameters:
    ///   - livenessClient: carries beats and reconciliation; give it a loop
    ///     and connection of its own so that request load cannot delay a
    ///     beat past the liveness window (default: `client`).
    ///   - livenessKeys: ``RedisLivenessKeys/shared`` on one server,
    ///     ``RedisLivenessKeys/perSlot`` in a Redis Cluster.
    ///   - shardedWakeups: true in a Redis Cluster: wake-ups go on per-name
    ///     shard channels (`SPUBLISH`/`SSUBSCRIBE`, Redis 7) in the name's
    ///     slot, subscribed while this instance has waiters on the name,
    ///     instead of one classic channel that the cluster broadcasts to
    ///     every node.
    ///   - replicationTimeout: how long a ``Durability/replicated`` grant
    ///     waits for a replica (at most the client's
    ///     ``RedisConfiguration/maximumReplicationWait``).
    public init(
        client: RedisClient, livenessClient: RedisClient? = nil, livenessKeys: RedisLivenessKeys = .shared,
        shardedWakeups: Bool = false, replicationTimeout: Duration = .milliseconds(500), metrics: LockMetrics = LockMetrics(), logger: Logger
    ) {
        self.client = client
        self.livenessClient = livenessClient ?? client
        self.livenessKeys = livenessKeys
        let instanceID = randomHex()
        self.instanceID = instanceID
        self.scripts = shardedWakeups ? .sharded : .classic
        self.shardWakeups = shardedWakeups ? RedisShardWakeups(client: client, instanceID: instanceID, logger: logger) : nil
        self.replicationTimeout = replicationTimeout
        self.metrics = metrics
        self.logger = logger
        let countsEverySubscriber = if case .shared = livenessKeys { true } else { false }
        self.eventChannel = RedisEventChannel(client: client, instanceID: instanceID, countsEverySubscriber: countsEverySubscriber, logger: logger)
    }

    /// A Redis deployment's primaries may have replicas to confirm grants on.
    public var canReplicate: Bool { true }

    nonisolated(nonsending) public func acquire(_ attempt: AcquireAttempt) async throws(LockError) -> AcquireResult {
        try await acquire(attempt, mayLookAgain: true)
    }

    /// `mayLookAgain`: whether a Cluster waiter that had to subscribe first
    /// may look at the queue once more (once: never a loop).
    nonisolated(nonsending) private func acquire(_ attempt: AcquireAttempt, mayLookAgain: Bool) async throws(LockError) -> AcquireResult {
        // The call is written and the reply read in plain functions: what an
        // async function holds lives in its task's frame, and a frame too
        // big for the task allocator's slab costs a `malloc` per request.
        let sent = MonotonicClock.now()
        let (reply, replicated) = try await run(scripts.acquire, "acquire", durability: attempt.durability, keyCount: Self.nameKeyCount,
                                                arguments: acquireArguments(attempt))
        let result = try RESPReply.reading(reply) { (reply) throws(LockError) in
            try acquireResult(&reply, name: attempt.name, token: attempt.token, waiter: attempt.waiter, sentAt: sent)
        }
        switch result {
        case .granted(let lease, let isRetry, _) where !replicated:
            metrics.replicationTimedOut()
            // A lease found (a retry) stays as the primary has it, as an
            // unconfirmed renewal does: the client holds it from an earlier
            // answer. A new grant is undone, so that a failover cannot leave
            // a second holder beside a lease nobody was told about — by its
            // fence and only while unclaimed: a retry under the same token
            // may have been answered with it meanwhile. (A lease found under
            // lockd's own token is the engine's to give back on the 503.)
            if !isRetry,
               (try? await giveBack(attempt.name, token: attempt.token, grant: .fence(lease.fence), evenIfClaimed: false)) == nil {
                logger.warning("an unreplicated grant could not be undone; it ends with its TTL", metadata: ["lock": "\(attempt.name.value)"])
            }
            throw Self.notReplicated
        case .held:
            // A Cluster's first waiter here on the name: subscribed only
            // now, so a wake-up since the queue was joined is lost — look
            // again (the waiter keeps its place).
            if mayLookAgain, let shardWakeups, attempt.waiter != nil, await shardWakeups.listen(on: attempt.name) {
                return try await acquire(attempt, mayLookAgain: false)
            }
            return result
        case .granted:
            return result
        }
    }

    /// ``acquire(_:)`` answered when the reply is read, without a task —
    /// unless the attempt must await more than the script: a replicated
    /// grant its replica, a Cluster waiter its subscription.
    public func acquire(_ attempt: AcquireAttempt, cancellation: CallCancellation, completion: @escaping StoreCompletion<AcquireResult>) {
        guard attempt.durability == .primary, shardWakeups == nil || attempt.waiter == nil else {
            return inTask(cancellation, completion) { [self] () async throws(LockError) in try await acquire(attempt) }
        }
        let arguments = acquireArguments(attempt)
        // One closure from the client's reply to the engine's completion,
        // holding only what reading the reply needs.
        let start = callStart()
        client.run(scripts.acquire, keyCount: Self.nameKeyCount, arguments: arguments, cancellation: cancellation) {
            [self, name = attempt.name, token = attempt.token, waiter = attempt.waiter] reply in
            completion(finished(reply, "acquire", start, cancellation: cancellation) { (reply) throws(LockError) in
                try acquireResult(&reply, name: name, token: token, waiter: waiter, sentAt: start.time)
            })
        }
    }

    /// The acquire script's keys and arguments.
    @inline(never)
    private func acquireArguments(_ attempt: AcquireAttempt) -> RESPEncodedArguments {
        // A waiter may be granted by a release without asking again, unless
        // its grant must be confirmed on a replica first (this call's WAIT).
        let asksWish = attempt.waiter != nil && attempt.durability == .primary
        let owner = attempt.owner ?? "", waiter = attempt.waiter.map(member) ?? "", client = attempt.client ?? ""
        // What the arguments need, read out first: read inside the closure,
        // each field copied the whole attempt (four copies an acquire).
        let token = attempt.token.value, name = attempt.name.value, ttlMs = attempt.ttlMs
        let retention = retention(waitMs: attempt.waitMs), limit = Int64(attempt.limit), lockDelayMs = attempt.lockDelayMs
        let isShared = attempt.mode == .shared, needsHolders = attempt.needsHolders, nonce = attempt.nonce
        // 13 arguments, 5 of them integers and 3 of them one byte; and a
        // nonce, an integer, only under a client's token.
        let room = token.utf8.count + owner.utf8.count + waiter.utf8.count + name.utf8.count + client.utf8.count + 3
            + 13 * RESPArgumentWriter.overhead + 5 * RESPArgumentWriter.integerRoom
            + (nonce == nil ? 0 : RESPArgumentWriter.overhead + RESPArgumentWriter.integerRoom)
        return nameKeysCall(attempt.name, argumentRoom: room) { call in
            call.append(token)
            call.append(ttlMs)
            call.append(owner)
            call.append(waiter)
            call.append(Self.livenessWindowMs)
            call.append(retention)
            call.append(name)
            call.append(isShared ? "s" : "x" as StaticString)
            call.append(limit)
            call.append(client)
            call.append(asksWish ? "1" : "" as StaticString)
            call.append(needsHolders ? "1" : "" as StaticString)
            if lockDelayMs > 0 { call.append(lockDelayMs) } else { call.append("" as StaticString) }
            if let nonce { call.append(nonce.value) }
        }
    }

    /// The acquire script's reply: granted or held (a held lock's waiter
    /// not queued throws `lockHeld`), its fields read in order.
    @inline(never)
    private func acquireResult(
        _ reply: inout RESPReply, name: LockName, token: LeaseToken, waiter: WaiterID?, sentAt sent: UInt64
    ) throws(LockError) -> AcquireResult {
        guard let count = reply.array(), count >= 2 else { throw Self.malformed }
        let kind = reply.int()
        switch kind {
        case 1:
            // 1, fence, now, ttl, owner, is retry, recheck, limit, mode
            guard count >= 9 else { throw Self.malformed }
            let fence = try Self.int(reply.int())
            let now = try Self.int(reply.int())
            sampleClock(now, of: name, sentAt: sent)
            let ttl = try Self.int(reply.int())
            let owner = Self.owner(reply.string())
            let isRetry = reply.int() == 1
            let recheck = try Self.int(reply.int())
            let limit = Int(try Self.int(reply.int()))
            let mode = try Self.mode(reply.withBytes { $0.count == 1 ? $0[0] : nil } ?? nil)
            let lease = Lease(name: name, token: token, fence: fence, ttlMs: ttl, expiresAtMs: now + ttl, owner: owner, mode: mode, limit: limit)
            return .granted(lease, isRetry: isRetry, hint: WaitHint(recheckAfterMs: recheck > 0 ? recheck : nil))
        case 2:
            throw .limitMismatch(limit: Int(try Self.int(reply.int())))
        default:
            // kind, now, recheck, not queued, wake, holders, retry after, …
            guard count >= 8 else { throw Self.malformed }
            let now = reply.int()
            if kind == 0, let now { sampleClock(Int64(now), of: name, sentAt: sent) }
            let recheck = reply.value()
            let notQueued = reply.int() == 1
            let wake = reply.value()
            let holders = try Self.holders(reply.value(), now: try Self.int(now))
            let retryAfterMs = max(0, try Self.int(reply.int()))
            if notQueued { throw .lockHeld(holders: holders, retryAfterMs: retryAfterMs) }
            let hint = try hint(recheck: recheck, wake: wake, except: waiter)
            return .held(holders: holders, retryAfterMs: retryAfterMs, hint: hint)
        }
    }

    /// Notes the store's clock, `now` as a reply sent at `sent` read it.
    private func sampleClock(_ now: Int64, of name: LockName, sentAt sent: UInt64) {
        if let source = clockSource(name) { clockOffset.sample(storeMs: now, sentAt: sent, source: source) }
    }

    nonisolated(nonsending) public func renew(_ name: LockName, token: LeaseToken, ttlMs: Int64?, durability: Durability) async throws(LockError) -> Lease? {
        var call = Self.keysWriter(name, count: 4, argumentBytes: token.value.utf8.count + name.value.utf8.count + 3 * RESPArgumentWriter.overhead + 20)
        Self.withKeyBytes(name) { name in
            call.append("lockd:{", name, "}:lease")
            call.append("lockd:{", name, "}:holders")
            call.append("lockd:{", name, "}:grants")
            call.append("lockd:{", name, "}:waiters")
        }
        call.append(token.value)
        if let ttlMs { call.append(ttlMs) } else { call.append("" as StaticString) }
        call.append(name.value)
        let (reply, replicated) = try await run(scripts.renew, "renew", durability: durability, keyCount: 4, arguments: call.finish())
        guard let fields = reply.array, fields.first?.int == 1 else { return nil }
        // The lease stays as the primary has it: the holder may try again.
        guard replicated else {
            metrics.replicationTimedOut()
            throw Self.notReplicated
        }
        let checked = try Self.fields(reply, count: 7)
        let now = try Self.int(checked[2])
        let ttl = try Self.int(checked[3])
        return Lease(name: name, token: token, fence: try Self.int(checked[1]), ttlMs: ttl, expiresAtMs: now + ttl,
                     owner: Self.owner(checked[4]), mode: try Self.mode(checked[6]), limit: Int(try Self.int(checked[5])))
    }

    nonisolated(nonsending) public func release(_ name: LockName, token: LeaseToken) async throws(LockError) -> Bool {
        try await awaitingCallback { endLease(name, token: token, cancellation: $0, completion: $1) }
    }

    public func release(_ name: LockName, token: LeaseToken, cancellation: CallCancellation, completion: @escaping StoreCompletion<Bool>) {
        endLease(name, token: token, cancellation: cancellation, completion: completion)
    }

    nonisolated(nonsending) public func giveBack(_ name: LockName, token: LeaseToken, grant: GrantIdentity, evenIfClaimed: Bool) async throws(LockError) -> Bool {
        try await awaitingCallback {
            endLease(name, token: token, givenBack: (grant, evenIfClaimed), cancellation: $0, completion: $1)
        }
    }

    /// Runs the release script. While the engine listens, a release that
    /// hands the name to this instance's waiters alone gets their wake-up
    /// in its reply instead of on the wake-up channel (the script's
    /// `caller`), and it is handed to the engine here: no `PUBLISH`, and no
    /// message to read. A reply that never arrives (a failure, or a caller
    /// cancelled meanwhile, whose reply is dropped) may have carried
    /// grants: the name's waiters are then put back with the store as after
    /// a lost notice (`resubscribed`), which hands each its grant.
    /// `givenBack`: which grant a give-back ends and whether even when
    /// claimed (see ``giveBack(_:token:grant:evenIfClaimed:)``); nil for a
    /// release.
    private func endLease(
        _ name: LockName, token: LeaseToken, givenBack: (grant: GrantIdentity, evenIfClaimed: Bool)? = nil, cancellation: CallCancellation,
        completion: @escaping StoreCompletion<Bool>
    ) {
        let handler = ownWakeups.withLock { $0 }?.handle
        let caller = handler == nil ? "" : instanceID
        // A give-back's fence or nonce, last and only when named: a release sends neither.
        var fence: Int64?, nonce: Int64?
        switch givenBack?.grant {
        case .fence(let value): fence = value
        case .attempt(let value): nonce = value.value
        case .any, nil: break
        }
        let room = token.value.utf8.count + name.value.utf8.count + 1 + caller.utf8.count + 4 * RESPArgumentWriter.overhead
            + (fence == nil && nonce == nil ? 0 : 2 * (RESPArgumentWriter.overhead + RESPArgumentWriter.integerRoom))
        let arguments = nameKeysCall(name, argumentRoom: room) { call in
            call.append(token.value)
            call.append(name.value)
            // Always present, so that later arguments keep their positions.
            call.append(givenBack?.evenIfClaimed == false ? "1" : "" as StaticString)
            call.append(caller)
            if let fence { call.append(fence) }
            if let nonce {
                call.append("" as StaticString)
                call.append(nonce)
            }
        }
        let start = callStart()
        client.run(scripts.release, keyCount: Self.nameKeyCount, arguments: arguments, cancellation: cancellation) { [self] reply in
            let released = finished(reply, "release", start, cancellation: cancellation) { reply in
                // 1 or 0, or [1 or 0, this instance's wake-up]
                guard let count = reply.array() else { return reply.int() == 1 }
                let released = count > 0 && reply.int() == 1
                if let handler, count == 2, let message = reply.bytes(), var wakeup = wakeup(from: message, on: name) {
                    // Not in the channel's order: its recheck only brings one forward.
                    wakeup.isOrdered = false
                    handler(.wakeup(wakeup))
                }
                return released
            }
            if case .failure = released { handler?(.resubscribed(name)) }
            completion(released)
        }
    }

    public func forceRelease(_ name: LockName, fence: Int64) async throws(LockError) -> LeaseToken? {
        let room = name.value.utf8.count + 2 * RESPArgumentWriter.overhead + RESPArgumentWriter.integerRoom
        let arguments = nameKeysCall(name, argumentRoom: room) { call in
            call.append(fence)
            call.append(name.value)
        }
        let reply = try await run(scripts.forceRelease, "force_release", keyCount: Self.nameKeyCount, arguments: arguments)
        guard let token = reply.string else { return nil }
        return try? LeaseToken(token)
    }

    public func status(of name: LockName) async throws(LockError) -> LockStatus {
        try Self.status(of: name, from: try await run(scripts.status, "status", keys: Self.statusKeys(name), arguments: []))
    }

    static func statusKeys(_ name: LockName) -> [String] {
        let keys = keys(name)
        return [keys.lease, keys.holders, keys.grants, keys.waiters]
    }

    static func status(of name: LockName, from reply: RESPValue) throws(LockError) -> LockStatus {
        let fields = try Self.fields(reply, count: 5)
        let delayedUntil = try int(fields[4])
        return LockStatus(name: name, holders: try holders(fields[3], now: try int(fields[0])),
                          limit: Int(try int(fields[1])), waiting: Int(try int(fields[2])),
                          delayedUntilMs: delayedUntil > 0 ? delayedUntil : nil)
    }

    /// The scripts' flat `fence, remaining_ms, mode, owner, client, …` list.
    private static func holders(_ value: RESPValue, now: Int64) throws(LockError) -> [Holder] {
        guard let flat = value.array, flat.count % 5 == 0 else { throw malformed }
        var holders: [Holder] = []
        holders.reserveCapacity(flat.count / 5)
        for start in stride(from: 0, to: flat.count, by: 5) {
            let remaining = try int(flat[start + 1])
            // 0 is a holder: PTTL answers 0 in a key's last millisecond, and
            // the key (the lease) lives through it.
            guard remaining >= 0 else { continue }
            holders.append(Holder(owner: owner(flat[start + 3]), fence: try int(flat[start]), expiresAtMs: now + remaining,
                                  remainingMs: remaining, mode: try mode(flat[start + 2]), client: owner(flat[start + 4])))
        }
        return holders
    }

    static func owner(_ value: RESPValue) -> String? {
        owner(value.string)
    }

    static func owner(_ text: String?) -> String? {
        text.flatMap { $0.isEmpty ? nil : $0 }
    }

    static func mode(_ value: RESPValue) throws(LockError) -> LockMode {
        // Its one byte, read without making a `String` of it.
        guard let bytes = value.bytes, bytes.count == 1 else { throw malformed }
        return try mode(bytes[0])
    }

    /// A mode field's one byte (nil when it is not one byte).
    static func mode(_ byte: UInt8?) throws(LockError) -> LockMode {
        switch byte {
        case UInt8(ascii: "x"): return .exclusive
        case UInt8(ascii: "s"): return .shared
        default: throw malformed
        }
    }

    public func list(prefix: String, limit: Int, cursor: String?) async throws(LockError) -> LockPage {
        var position = try cursor.map { (text: String) throws(LockError) in try ListCursor.decode(text) } ?? ListCursor(scan: 0, after: "")
        // Shard by shard, in slot order: one for a single server or Sentinel,
        // each master of a cluster. A cursor's slot leads to whichever master
        // serves it now, so a failover between pages loses no place.
        let shards: [RedisShard]
        do { shards = try client.shards() } catch { throw unavailable(error) }
        var pending = shards.map { Int($0.firstSlot.value) }.filter { $0 > position.slot }[...]
        var names: [LockName] = []
        var nextCursor: String?
        scanning: while true {
            let reply = try await send(["SCAN", .string(String(position.scan)), "MATCH", .string("lockd:{\(prefix)*}:\(Self.holdingKeyPattern)"), "COUNT", 1000],
                                       "scan", route: .slot(RedisHashSlot(position.slot)))
            let fields = try Self.fields(reply, count: 2)
            guard let next = fields[0].string.flatMap(UInt64.init), let keys = fields[1].array else { throw Self.malformed }
            let batch = Set(keys.compactMap { $0.string.flatMap(Self.name(fromHoldingKey:)) })
                .filter { position.after.utf8.lexicographicallyPrecedes($0.value.utf8) }
                .sorted()
            var lastOfBatch = position.after
            for name in batch {
                if names.count == limit {
                    // Resume inside this batch: SCAN returns the same batch for
                    // the same cursor while the keyspace is not rehashed. The
                    // name to resume after is this batch's, never an earlier
                    // batch's (that would skip this batch's smaller names).
                    nextCursor = ListCursor(slot: position.slot, scan: position.scan, after: lastOfBatch).encoded
                    break scanning
                }
                names.append(name)
                lastOfBatch = name.value
            }
            if next != 0 {
                position = ListCursor(slot: position.slot, scan: next, after: "")
            } else if let slot = pending.popFirst() {
                position = ListCursor(slot: slot, scan: 0, after: "")
            } else {
                break
            }
        }
        // One round trip for the whole page.
        let replies = try await run(scripts.status, "status", pipelined: names.map { (keys: Self.statusKeys($0), arguments: []) }, on: client)
        var locks: [LockStatus] = []
        for (name, reply) in zip(names, replies) {
            let status = try Self.status(of: name, from: reply)
            if status.isHeld { locks.append(status) }
        }
        return LockPage(locks: locks, nextCursor: nextCursor)
    }

    public func removeWaiter(_ waiter: WaiterID, from name: LockName, reclaimingGrant: Bool) async throws(LockError) {
        _ = try await run(scripts.removeWaiter, "remove_waiter", keys: nameKeys(name),
                          arguments: [member(waiter), name.value, reclaimingGrant ? "1" : ""])
    }

    public func beat(names: Set<LockName>) async throws(LockError) -> Bool {
        shardWakeups?.keep(names)
        let calls = livenessKeys.keys(for: names).map { key in
            (keys: [key], arguments: [instanceID, livenessWindowArgument])
        }
        let replies = try await run(scripts.beat, "beat", pipelined: calls, on: livenessClient)
        return replies.allSatisfy { $0.int == 1 }
    }

    public func reconcile(_ queues: [LocalQueue]) async throws(LockError) -> [QueueRepair] {
        let queues = queues.filter { !$0.waiters.isEmpty }
        let calls = queues.map { queue in
            (
                keys: nameKeys(queue.name),
                arguments: [livenessWindowArgument, String(retention(waitMs: queue.waitMs)), queue.name.value] + queue.waiters.map(member)
            )
        }
        var repairs: [QueueRepair] = []
        // Pipelined: one round trip per chunk rather than per name; chunked,
        // so that each pipeline's work fits in one command timeout.
        for start in stride(from: 0, to: calls.count, by: Self.pipelineChunk) {
            let range = start..<min(start + Self.pipelineChunk, calls.count)
            let replies = try await run(scripts.reconcile, "reconcile", pipelined: Array(calls[range]), on: livenessClient)
            for (queue, reply) in zip(queues[range], replies) {
                let fields = try Self.fields(reply, count: 3)
                repairs.append(QueueRepair(name: queue.name, restored: Int(try Self.int(fields[0])),
                                           hint: try hint(recheck: fields[1], wake: fields[2], except: nil)))
            }
        }
        return repairs
    }

    /// Names per pipeline.
    private static let pipelineChunk = 500

    public func deliverEvents(to handler: @escaping @Sendable (StoreEvent) -> Void) async {
        ownWakeups.withLock { $0 = EventHandler(handle: handler) }
        defer { ownWakeups.withLock { $0 = nil } }
        await withTaskGroup(of: Void.self) { group in
            // On the thread that reads the messages: a wake-up reaches its
            // waiter without a hop through the global executor.
            if let shardWakeups {
                shardWakeups.deliver { [self] name, event in
                    // A renewed subscription concerns its own name only.
                    if case .resubscribed = event { handler(.resubscribed(name)) } else { deliver(event, to: handler) }
                }
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: .milliseconds(500))
                        shardWakeups.dropUnwanted()
                    }
                    // Nobody delivers wake-ups any more: stop listening.
                    shardWakeups.close(forGood: false)
                }
            }
            // The classic subscription: wake-ups (not in a Cluster) and the
            // event watchers' announcements (everywhere).
            group.addTask(executorPreference: client.subscriptionLoop) { await self.deliverWakeups(to: handler) }
            // Lock events too: the hub hands each to its streams' loops from
            // the thread that read it, rather than after a hop through the
            // global executor (whose thread may have to be woken first).
            group.addTask(executorPreference: client.subscriptionLoop) { await self.eventChannel.deliver(to: handler) }
            group.addTask { await self.eventChannel.reannounce() }
            // A (re)connected command connection: the store may have
            // restarted empty, or failed over to a replica that lacks the
            // latest queue entries.
            for client in client === livenessClient ? [client] : [client, livenessClient] {
                group.addTask {
                    for await _ in client.connectionReadyEvents() {
                        // Perhaps another server now, with another clock.
                        self.clockOffset.reset()
                        handler(.reconnected)
                    }
                }
            }
        }
    }

    private func deliverWakeups(to handler: @escaping @Sendable (StoreEvent) -> Void) async {
        var missed = false
        while !Task.isCancelled {
            do {
                // The second channel carries nothing: subscribing to it tells
                // the scripts that this instance listens (see `ready_for_grant`).
                // In a Cluster wake-ups travel on shard channels instead.
                let wakeupChannels = shardWakeups == nil
                    ? [RedisLockScripts.wakeupChannel, "\(RedisLockScripts.wakeupChannel):\(instanceID)"] : []
                let subscription = try await client.subscribe(to: wakeupChannels + [RedisEventChannel.watchingChannel])
                // Announcements published while not subscribed are lost.
                if missed {
                    if shardWakeups == nil { handler(.reconnected) }
                    eventChannel.someoneMayWatch()
                }
                for await event in subscription {
                    switch event {
                    case .message(let message) where message.channel == RedisEventChannel.watchingChannel:
                        eventChannel.heard(announcement: message.string)
                    case .resubscribed:
                        if shardWakeups == nil { handler(.reconnected) }
                        eventChannel.someoneMayWatch()
                    case .message:
                        deliver(event, to: handler)
                    }
                }
            } catch {
                guard !Task.isCancelled else { break }
                // Without it waiters rely on rechecks and events stop: an
                // operator must hear of a lasting failure (say, `NOPERM`).
                if let suppressed = subscriptionWarnings.admit() {
                    logger.warning("cannot subscribe to the wake-up channel; retrying", metadata: ["error": "\(error)", "suppressed": "\(suppressed)"])
                } else {
                    logger.debug("wake-up subscription failed; retrying", metadata: ["error": "\(error)"])
                }
            }
            missed = true
            // Ended without cancellation: the client is shutting down or
            // reconnecting; do not spin.
            try? await Task.sleep(for: .milliseconds(250))
        }
    }

    private func deliver(_ event: RedisSubscription.Event, to handler: @Sendable (StoreEvent) -> Void) {
        switch event {
        case .message(let message):
            if let wakeup = wakeup(from: message.payload) { handler(.wakeup(wakeup)) }
        case .resubscribed:
            handler(.reconnected)
        }
    }

    /// Parses `name\nrecheck_ms\nentry…`, the scripts' announcement; an
    /// entry is `member` (wake it) or `member fence now` (granted). By byte,
    /// in one pass: splitting it as text, by `Character`, cost ~4% of
    /// lockd's CPU on a contended semaphore.
    /// - Parameter known: the name the message is about, when known (a
    ///   release's reply): its text is then neither copied nor validated.
    func wakeup(from message: [UInt8], on known: LockName? = nil) -> Wakeup? {
        message.withUnsafeBufferPointer { bytes -> Wakeup? in
            let newline = UInt8(ascii: "\n"), space = UInt8(ascii: " ")
            guard let nameEnd = bytes.firstIndex(of: newline),
                  let name = known ?? (try? LockName(String(decoding: UnsafeBufferPointer(rebasing: bytes[..<nameEnd]), as: UTF8.self)))
            else { return nil }
            var position = nameEnd + 1
            // From `position` up to `stop`, a newline or the end; `position` moves there.
            func field(until stop: UInt8) -> Slice<UnsafeBufferPointer<UInt8>> {
                let start = position
                while position < bytes.endIndex, bytes[position] != stop, bytes[position] != newline { position += 1 }
                return bytes[start..<position]
            }
            let recheck = Self.integer(field(until: newline)).flatMap { $0 > 0 ? $0 : nil }
            var wake: [WaiterID] = []
            var granted: [HandedGrant] = []
            while position < bytes.endIndex {
                position += 1  // the newline before the entry
                let member = field(until: space)
                var numbers: [Int64?] = []
                while position < bytes.endIndex, bytes[position] == space {
                    position += 1
                    numbers.append(Self.integer(field(until: space)))
                }
                guard let waiter = waiter(fromMember: member) else { continue }
                if numbers.count == 2, let fence = numbers[0], let now = numbers[1] {
                    // An unknown node: as old as can be (given back, not delivered dead).
                    let grantedBefore = clockSource(name).map { clockOffset.monotonic(ofStoreMs: now, source: $0) } ?? 0
                    granted.append(HandedGrant(waiter: waiter, fence: fence, grantedAtMs: now, grantedBefore: grantedBefore))
                } else {
                    wake.append(waiter)
                }
            }
            return Wakeup(name: name, hint: WaitHint(wake: wake, granted: granted, recheckAfterMs: recheck))
        }
    }

    /// A decimal integer, optionally negative; nil when `digits` is anything else.
    private static func integer(_ digits: Slice<UnsafeBufferPointer<UInt8>>) -> Int64? {
        var rest = digits[...]
        let negative = rest.first == UInt8(ascii: "-")
        if negative { rest = rest.dropFirst() }
        guard !rest.isEmpty, rest.count <= 18 else { return nil }
        var value: Int64 = 0
        for byte in rest {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int64(byte - UInt8(ascii: "0"))
        }
        return negative ? -value : value
    }

    /// The waiter of this instance a queue entry's bytes stand for; nil for another instance's.
    private func waiter(fromMember member: Slice<UnsafeBufferPointer<UInt8>>) -> WaiterID? {
        let id = instanceID.utf8
        guard member.count > id.count + 1, member.starts(with: id), member[member.startIndex + id.count] == UInt8(ascii: ":") else { return nil }
        return WaiterID(String(decoding: UnsafeBufferPointer(rebasing: member[(member.startIndex + id.count + 1)...]), as: UTF8.self))
    }

    public func checkReady() async throws(LockError) {
        do {
            try await client.ping()
        } catch where error.needsSettingsFixed {
            // Readiness says why Redis refuses lockd (a password, a database,
            // a certificate), in words: an operator has a setting to fix.
            throw .unavailable(error.description)
        } catch {
            throw unavailable(error)
        }
    }

    /// Ends the shard subscriptions; the client belongs to whoever made it.
    public func close() async { shardWakeups?.close() }

    // MARK: Keys and replies

    struct Keys {
        var lease, fence, waiters, holders, grants, wishes: String
    }

    static func keys(_ name: LockName) -> Keys {
        var name = name.value
        return name.withUTF8 { name in
            Keys(lease: key(name, "lease"), fence: key(name, "fence"), waiters: key(name, "waiters"),
                 holders: key(name, "holders"), grants: key(name, "grants"), wishes: key(name, "wishes"))
        }
    }

    /// The keys of a name as every queue-changing script takes them (the
    /// prelude's `name_keys`).
    func nameKeys(_ name: LockName) -> [String] {
        let keys = Self.keys(name)
        return [keys.lease, keys.fence, keys.waiters, livenessKeys.key(for: name), keys.holders, keys.grants, keys.wishes]
    }

    /// How many keys ``nameKeys(_:)`` (and ``nameKeysCall(_:argumentRoom:_:)``) hold.
    static let nameKeyCount = 7

    /// ``nameKeys(_:)`` then the arguments `body` writes, for a script
    /// call: the keys straight from the name's bytes (no `String` per key),
    /// everything through one cursor (see
    /// ``RESPArgumentWriter/write(capacity:_:)``); `argumentRoom` is what
    /// the arguments may take.
    func nameKeysCall(_ name: LockName, argumentRoom: Int, _ body: (inout RESPArgumentCursor) -> Void) -> RESPEncodedArguments {
        let liveness = livenessKeys.key(for: name)
        var text = name.value
        return text.withUTF8 { bytes in
            let name = UnsafeRawBufferPointer(bytes)
            // `lockd:{` + name + `}:` + a suffix of at most 7 bytes, and the liveness key.
            let room = (Self.nameKeyCount - 1) * (name.count + 16 + RESPArgumentWriter.overhead)
                + liveness.utf8.count + RESPArgumentWriter.overhead + argumentRoom
            return RESPArgumentWriter.write(capacity: room) { call in
                call.append("lockd:{", name, "}:lease")
                call.append("lockd:{", name, "}:fence")
                call.append("lockd:{", name, "}:waiters")
                call.append(liveness)
                call.append("lockd:{", name, "}:holders")
                call.append("lockd:{", name, "}:grants")
                call.append("lockd:{", name, "}:wishes")
                body(&call)
            }
        }
    }

    /// A writer with room for `count` of `name`'s keys and `argumentBytes` more.
    static func keysWriter(_ name: LockName, count: Int, argumentBytes: Int) -> RESPArgumentWriter {
        // `lockd:{` + name + `}:` + a suffix of at most 7 bytes.
        RESPArgumentWriter(capacity: count * (name.value.utf8.count + 16 + RESPArgumentWriter.overhead) + argumentBytes)
    }

    /// Calls `body` with the name's UTF-8 bytes.
    static func withKeyBytes(_ name: LockName, _ body: (UnsafeRawBufferPointer) -> Void) {
        var name = name.value
        name.withUTF8 { body(UnsafeRawBufferPointer($0)) }
    }

    /// `lockd:{NAME}:SUFFIX`, written into one allocation: interpolating and
    /// concatenating cost ~2 k instructions for a request's keys.
    private static func key(_ name: UnsafeBufferPointer<UInt8>, _ suffix: StaticString) -> String {
        let prefix: StaticString = "lockd:{"
        let infix: StaticString = "}:"
        let count = prefix.utf8CodeUnitCount + name.count + infix.utf8CodeUnitCount + suffix.utf8CodeUnitCount
        return String(unsafeUninitializedCapacity: count) { key in
            guard var next = key.baseAddress else { return 0 }
            func append(_ start: UnsafePointer<UInt8>?, _ count: Int) {
                if let start { next.initialize(from: start, count: count) }
                next += count
            }
            append(prefix.utf8Start, prefix.utf8CodeUnitCount)
            append(name.baseAddress, name.count)
            append(infix.utf8Start, infix.utf8CodeUnitCount)
            append(suffix.utf8Start, suffix.utf8CodeUnitCount)
            return count
        }
    }

    /// Matches `lease` and `holders`, a name's keys while it is held, and
    /// none of its others.
    private static let holdingKeyPattern = "[lh][eo][al][sd]e*"

    /// The clock that stamps `name`'s replies, for ``StoreClockOffset``: in
    /// a Cluster the node serving the name's slot (nil inside: none known
    /// now), else the one server (`.some(nil)`).
    private func clockSource(_ name: LockName) -> RedisEndpoint?? {
        guard shardWakeups != nil else { return .some(nil) }
        return client.primary(serving: RedisHashSlot(key: name.value)).map { .some($0) }
    }

    /// A waiter's queue entry: this instance's id, then the waiter's.
    private func member(_ waiter: WaiterID) -> String { "\(instanceID):\(waiter.value)" }

    /// The waiter of this instance a queue entry stands for; nil for another instance's.
    private func waiter(fromMember member: some StringProtocol) -> WaiterID? {
        let id = instanceID.utf8
        guard member.utf8.count > id.count + 1, member.utf8.starts(with: id),
              member.utf8.dropFirst(id.count).first == UInt8(ascii: ":") else { return nil }
        return WaiterID(String(member.dropFirst(id.count + 1)))
    }

    /// How long a queue is kept after a waiter with `waitMs` to go joins it:
    /// its wait, plus slack for a lockd that is slow to leave. (Entries of a
    /// lockd that died go with it.)
    private func retention(waitMs: Int64) -> Int64 { max(0, waitMs) + 2_000 }

    /// A script's `recheck_ms, {member…}` pair as a hint for this
    /// instance's waiters: wake the members that are ours (but not `except`,
    /// who asked).
    private func hint(recheck: RESPValue, wake members: RESPValue, except: WaiterID?) throws(LockError) -> WaitHint {
        let recheckMs = try Self.int(recheck)
        let wake = (members.array ?? []).compactMap { $0.string.flatMap(waiter(fromMember:)) }.filter { $0 != except }
        return WaitHint(wake: wake, recheckAfterMs: recheckMs > 0 ? recheckMs : nil)
    }

    private static func name(fromHoldingKey key: String) -> LockName? {
        guard key.hasPrefix("lockd:{") else { return nil }
        for suffix in ["}:lease", "}:holders"] where key.hasSuffix(suffix) {
            return try? LockName(String(key.dropFirst(7).dropLast(suffix.count)))
        }
        return nil
    }

    static let malformed = LockError.unavailable("the lock store answered in an unexpected way")

    private static let notReplicated = LockError.unavailable(
        "the lease could not be replicated: no Redis replica acknowledged it in time, so it was not kept; try again shortly")

    static func fields(_ reply: RESPValue, count: Int) throws(LockError) -> [RESPValue] {
        guard let fields = reply.array, fields.count >= count else { throw malformed }
        return fields
    }

    static func int(_ value: RESPValue) throws(LockError) -> Int64 {
        try int(value.int)
    }

    static func int(_ number: Int?) throws(LockError) -> Int64 {
        guard let number else { throw malformed }
        return Int64(number)
    }

    /// Runs `script` once per call in one round trip; any call's failure fails them all.
    private func run(
        _ script: RedisScript, _ operation: String, pipelined calls: [(keys: [String], arguments: [String])], on client: RedisClient
    ) async throws(LockError) -> [RESPValue] {
        try await measured(operation) { () throws(RedisError) in
            try await client.run(script, pipelined: calls).map { result throws(RedisError) in try result.get() }
        }
    }

    nonisolated(nonsending) func run(_ script: RedisScript, _ operation: String, keys: [String], arguments: [String]) async throws(LockError) -> RESPValue {
        try await measured(operation) { () throws(RedisError) in try await client.run(script, keys: keys, arguments: arguments) }
    }

    /// Runs `script` on keys and arguments written beforehand, the first `keyCount` of them keys.
    nonisolated(nonsending) func run(
        _ script: RedisScript, _ operation: String, keyCount: Int, arguments: RESPEncodedArguments
    ) async throws(LockError) -> RESPValue {
        try await measured(operation) { () throws(RedisError) in try await client.run(script, keyCount: keyCount, arguments: arguments) }
    }

    /// What a script call answered by callback keeps from its start: when
    /// it was sent (its duration's start), and its caller's log metadata.
    /// The reply is read on the loop, outside the caller's task, so a
    /// failure's line would lack what the caller's task locals add (the
    /// request's id). Taking that costs a dictionary a call: done only while
    /// calls fail. The first failure of a run, which took none, logs at
    /// debug; later ones warn (once a second) with what the caller's
    /// metadata holds (nothing without a metadata provider, or for a call
    /// no request made).
    private struct CallStart: Sendable {
        let time: UInt64
        let callerMetadata: Logger.Metadata?
    }

    private func callStart() -> CallStart {
        CallStart(time: MonotonicClock.now(),
                  callerMetadata: callsFailing.load(ordering: .relaxed) ? logger.handler.metadataProvider?.get() ?? [:] : nil)
    }

    /// A script call's outcome, read when the reply is (see
    /// ``RedisClient/run(_:keyCount:arguments:idempotent:cancellation:completion:)``):
    /// recorded in the metrics, then the reply read by `read` or a failure
    /// made the caller's ``LockError``.
    private func finished<Value>(
        _ reply: borrowing RedisScriptReply, _ operation: String, _ start: CallStart, cancellation: CallCancellation,
        read: (inout RESPReply) throws(LockError) -> Value
    ) -> Result<Value, LockError> {
        reply.map({ (reply) throws(LockError) in
            metrics.storeCall(operation, nanoseconds: MonotonicClock.now() - start.time, failure: nil)
            if callsFailing.load(ordering: .relaxed) { callsFailing.store(false, ordering: .relaxed) }
            return try read(&reply)
        }, failure: { error in
            metrics.storeCall(operation, nanoseconds: MonotonicClock.now() - start.time, failure: error.kind.description)
            callsFailing.store(true, ordering: .relaxed)
            return cancellation.isCancelled ? .cancelled
                : unavailable(error, callerMetadata: start.callerMetadata ?? [:], warns: start.callerMetadata != nil)
        })
    }

    /// Runs `script`, then for ``Durability/replicated`` `WAIT`s for one
    /// replica on the same connection; `replicated` is false when none
    /// acknowledged within ``replicationTimeout``.
    nonisolated(nonsending) private func run(
        _ script: RedisScript, _ operation: String, durability: Durability, keyCount: Int, arguments: RESPEncodedArguments
    ) async throws(LockError) -> (reply: RESPValue, replicated: Bool) {
        guard durability == .replicated else { return (try await run(script, operation, keyCount: keyCount, arguments: arguments), true) }
        let confirmed = try await measured(operation) { () throws(RedisError) in
            try await client.run(script, keyCount: keyCount, arguments: arguments, waitingForReplicas: 1, timeout: replicationTimeout)
        }
        return (confirmed.reply, confirmed.replicas >= 1)
    }

    private func send(_ command: [RESPBulk], _ operation: String, route: RedisRoute) async throws(LockError) -> RESPValue {
        try await measured(operation) { () throws(RedisError) in try await client.send(RedisCommand(command), route: route, idempotent: true) }
    }

    /// Runs one store call, recording its duration and outcome in the metrics.
    nonisolated(nonsending) func measured<Value>(_ operation: String, _ call: nonisolated(nonsending) () async throws(RedisError) -> Value) async throws(LockError) -> Value {
        let started = MonotonicClock.now()
        do {
            let value = try await call()
            metrics.storeCall(operation, nanoseconds: MonotonicClock.now() - started, failure: nil)
            return value
        } catch {
            metrics.storeCall(operation, nanoseconds: MonotonicClock.now() - started, failure: error.kind.description)
            throw unavailable(error)
        }
    }

    /// Every Redis failure is "unavailable" to clients, in words that name no
    /// Redis internals; the log keeps the real cause.
    /// For a failure read outside the caller's task: `callerMetadata` is what
    /// its task locals add to a line; without it (not taken), `warns` false
    /// keeps the line at debug, where it may name no request.
    func unavailable(_ error: RedisError, callerMetadata: Logger.Metadata = [:], warns: Bool = true) -> LockError {
        if Task.isCancelled { return .cancelled }
        // During an outage every request fails the same way: warn once a
        // second and keep the rest at debug, so the log stays readable.
        let now = MonotonicClock.now()
        let last = lastWarning.load(ordering: .relaxed)
        var metadata = callerMetadata
        metadata["error"] = "\(error)"
        if warns, now &- last >= 1_000_000_000,
           lastWarning.compareExchange(expected: last, desired: now, ordering: .relaxed).exchanged {
            logger.warning("lock store call failed; answering 503", metadata: metadata)
        } else {
            logger.debug("lock store call failed; answering 503", metadata: metadata)
        }
        return .unavailable("the lock store is unavailable; try again shortly")
    }
}
