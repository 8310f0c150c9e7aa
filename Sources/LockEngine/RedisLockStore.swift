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
    private let client: RedisClient
    private let livenessClient: RedisClient
    private let livenessKeys: RedisLivenessKeys
    /// How long this instance counts as alive after a beat, in milliseconds.
    public let livenessWindowMs: Int64
    private let livenessWindowArgument: String
    /// This instance's id in the queues.
    let instanceID = randomHex()
    private let logger: Logger
    private let metrics: LockMetrics
    /// When a failure was last logged at warning level (monotonic nanoseconds).
    private let lastWarning = Atomic<UInt64>(0)

    private static let acquireScript = RedisScript(RedisLockScripts.acquire)
    private static let renewScript = RedisScript(RedisLockScripts.renew)
    private static let releaseScript = RedisScript(RedisLockScripts.release)
    private static let statusScript = RedisScript(RedisLockScripts.status)
    private static let removeWaiterScript = RedisScript(RedisLockScripts.removeWaiter)
    private static let beatScript = RedisScript(RedisLockScripts.beat)
    private static let reconcileScript = RedisScript(RedisLockScripts.reconcile)

    /// Creates a store over `client`.
    /// - Parameters:
    ///   - livenessClient: carries beats and reconciliation; give it a loop
    ///     and connection of its own so that request load cannot delay a
    ///     beat past the liveness window (default: `client`).
    ///   - livenessKeys: ``RedisLivenessKeys/shared`` on one server,
    ///     ``RedisLivenessKeys/perSlot`` in a Redis Cluster.
    ///   - livenessWindowMs: how long this instance's waiters keep their
    ///     places without a beat: longer than the engine's beat interval
    ///     plus the longest stall (GC-free, but a paused VM or a starved
    ///     CPU) that must not cost a place.
    public init(
        client: RedisClient, livenessClient: RedisClient? = nil, livenessKeys: RedisLivenessKeys = .shared,
        livenessWindowMs: Int64 = 600, metrics: LockMetrics = LockMetrics(), logger: Logger
    ) {
        self.client = client
        self.livenessClient = livenessClient ?? client
        self.livenessKeys = livenessKeys
        self.livenessWindowMs = livenessWindowMs
        self.livenessWindowArgument = String(livenessWindowMs)
        self.metrics = metrics
        self.logger = logger
    }

    public func acquire(_ attempt: AcquireAttempt) async throws(LockError) -> AcquireResult {
        let keys = Self.keys(attempt.name)
        let reply = try await run(Self.acquireScript, "acquire", keys: [
            keys.lease, keys.fence, keys.waiters, livenessKeys.key(for: attempt.name),
        ], arguments: [
            attempt.token.value, String(attempt.ttlMs), attempt.owner ?? "", attempt.waiter.map(member) ?? "",
            livenessWindowArgument, String(retention(waitMs: attempt.waitMs)), attempt.name.value,
        ])
        let fields = try Self.fields(reply, count: 7)
        let owner = fields[4].string.flatMap { $0.isEmpty ? nil : $0 }
        if fields[0].int == 1 {
            let now = try Self.int(fields[2])
            let ttl = try Self.int(fields[3])
            let lease = Lease(name: attempt.name, token: attempt.token, fence: try Self.int(fields[1]),
                              ttlMs: ttl, expiresAtMs: now + ttl, owner: owner)
            let recheck = try Self.int(fields[6])
            return .granted(lease, isRetry: fields[5].int == 1, hint: WaitHint(recheckAfterMs: recheck > 0 ? recheck : nil))
        }
        let now = try Self.int(fields[1])
        let remaining = max(0, try Self.int(fields[2]))
        let fence = try Self.int(fields[3])
        let holders = fence > 0 ? [Holder(owner: owner, fence: fence, expiresAtMs: now + remaining, remainingMs: remaining)] : []
        let hint = try hint(recheck: fields[5], head: fields[6], except: attempt.waiter)
        return .held(holders: holders, retryAfterMs: remaining, hint: hint)
    }

    public func renew(_ name: LockName, token: LeaseToken, ttlMs: Int64?) async throws(LockError) -> Lease? {
        let reply = try await run(Self.renewScript, "renew", keys: [Self.keys(name).lease], arguments: [token.value, ttlMs.map(String.init) ?? ""])
        guard let fields = reply.array, fields.first?.int == 1 else { return nil }
        let checked = try Self.fields(reply, count: 5)
        let now = try Self.int(checked[2])
        let ttl = try Self.int(checked[3])
        return Lease(name: name, token: token, fence: try Self.int(checked[1]), ttlMs: ttl, expiresAtMs: now + ttl,
                     owner: checked[4].string.flatMap { $0.isEmpty ? nil : $0 })
    }

    public func release(_ name: LockName, token: LeaseToken) async throws(LockError) -> Bool {
        let keys = Self.keys(name)
        let reply = try await run(Self.releaseScript, "release", keys: [keys.lease, keys.waiters, livenessKeys.key(for: name)],
                                  arguments: [token.value, name.value])
        return reply.int == 1
    }

    public func status(of name: LockName) async throws(LockError) -> LockStatus {
        try Self.status(of: name, from: try await run(Self.statusScript, "status", keys: [Self.keys(name).lease], arguments: []))
    }

    private static func status(of name: LockName, from reply: RESPValue) throws(LockError) -> LockStatus {
        let fields = try Self.fields(reply, count: 4)
        let now = try Self.int(fields[0])
        let remaining = try Self.int(fields[1])
        guard remaining > 0 else { return LockStatus(name: name, holders: []) }
        let owner = fields[3].string.flatMap { $0.isEmpty ? nil : $0 }
        return LockStatus(name: name, holders: [
            Holder(owner: owner, fence: try Self.int(fields[2]), expiresAtMs: now + remaining, remainingMs: remaining),
        ])
    }

    public func list(prefix: String, limit: Int, cursor: String?) async throws(LockError) -> LockPage {
        var position = try cursor.map { (text: String) throws(LockError) in try ListCursor.decode(text) } ?? ListCursor(scan: 0, after: "")
        var names: [LockName] = []
        var nextCursor: String?
        scanning: while true {
            let reply = try await send(["SCAN", .string(String(position.scan)), "MATCH", .string("lockd:{\(prefix)*}:lease"), "COUNT", 1000], "scan")
            let fields = try Self.fields(reply, count: 2)
            guard let next = fields[0].string.flatMap(UInt64.init), let keys = fields[1].array else { throw Self.malformed }
            let batch = keys.compactMap { $0.string.flatMap(Self.name(fromLeaseKey:)) }
                .filter { position.after.utf8.lexicographicallyPrecedes($0.value.utf8) }
                .sorted()
            for name in batch {
                if names.count == limit {
                    // Resume inside this batch: SCAN returns the same batch for
                    // the same cursor while the keyspace is not rehashed.
                    nextCursor = ListCursor(scan: position.scan, after: names[names.count - 1].value).encoded
                    break scanning
                }
                names.append(name)
            }
            guard next != 0 else { break }
            position = ListCursor(scan: next, after: "")
        }
        // One round trip for the whole page.
        let replies = try await run(Self.statusScript, "status", pipelined: names.map { (keys: [Self.keys($0).lease], arguments: []) }, on: client)
        var locks: [LockStatus] = []
        for (name, reply) in zip(names, replies) {
            let status = try Self.status(of: name, from: reply)
            if status.isHeld { locks.append(status) }
        }
        return LockPage(locks: locks, nextCursor: nextCursor)
    }

    public func removeWaiter(_ waiter: WaiterID, from name: LockName) async throws(LockError) {
        let keys = Self.keys(name)
        _ = try await run(Self.removeWaiterScript, "remove_waiter", keys: [keys.waiters, livenessKeys.key(for: name), keys.lease],
                          arguments: [member(waiter), name.value])
    }

    public func beat(names: Set<LockName>) async throws(LockError) -> Bool {
        let calls = livenessKeys.keys(for: names).map { key in
            (keys: [key], arguments: [instanceID, livenessWindowArgument])
        }
        let replies = try await run(Self.beatScript, "beat", pipelined: calls, on: livenessClient)
        return replies.allSatisfy { $0.int == 1 }
    }

    public func reconcile(_ queues: [LocalQueue]) async throws(LockError) -> [QueueRepair] {
        let queues = queues.filter { !$0.waiters.isEmpty }
        let calls = queues.map { queue in
            let keys = Self.keys(queue.name)
            return (
                keys: [keys.waiters, livenessKeys.key(for: queue.name), keys.lease],
                arguments: [livenessWindowArgument, String(retention(waitMs: queue.waitMs)), queue.name.value] + queue.waiters.map(member)
            )
        }
        var repairs: [QueueRepair] = []
        // Pipelined: one round trip per chunk rather than per name; chunked,
        // so that each pipeline's work fits in one command timeout.
        for start in stride(from: 0, to: calls.count, by: Self.pipelineChunk) {
            let range = start..<min(start + Self.pipelineChunk, calls.count)
            let replies = try await run(Self.reconcileScript, "reconcile", pipelined: Array(calls[range]), on: livenessClient)
            for (queue, reply) in zip(queues[range], replies) {
                let fields = try Self.fields(reply, count: 3)
                repairs.append(QueueRepair(name: queue.name, restored: Int(try Self.int(fields[0])),
                                           hint: try hint(recheck: fields[1], head: fields[2], except: nil)))
            }
        }
        return repairs
    }

    /// Names per pipeline.
    private static let pipelineChunk = 500

    public func deliverEvents(to handler: @escaping @Sendable (StoreEvent) -> Void) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.deliverWakeups(to: handler) }
            // A (re)connected command connection: the store may have
            // restarted empty, or failed over to a replica that lacks the
            // latest queue entries.
            for client in client === livenessClient ? [client] : [client, livenessClient] {
                group.addTask {
                    for await _ in client.connectionReadyEvents() { handler(.reconnected) }
                }
            }
        }
    }

    private func deliverWakeups(to handler: @escaping @Sendable (StoreEvent) -> Void) async {
        var missed = false
        while !Task.isCancelled {
            do {
                let subscription = try await client.subscribe(to: [RedisLockScripts.wakeupChannel])
                // Announcements published while not subscribed are lost.
                if missed { handler(.reconnected) }
                for await event in subscription {
                    switch event {
                    case .message(let message):
                        if let wakeup = wakeup(from: message.string) { handler(.wakeup(wakeup)) }
                    case .resubscribed:
                        handler(.reconnected)
                    }
                }
            } catch {
                logger.debug("wake-up subscription failed; retrying", metadata: ["error": "\(error)"])
            }
            missed = true
            // Ended without cancellation: the client is shutting down or
            // reconnecting; do not spin.
            try? await Task.sleep(for: .milliseconds(250))
        }
    }

    /// Parses `name\nrecheck_ms\nmember…`, the scripts' announcement.
    func wakeup(from message: String) -> Wakeup? {
        var rest = message[...]
        guard let nameEnd = rest.firstIndex(of: "\n"), let name = try? LockName(String(rest[..<nameEnd])) else { return nil }
        rest = rest[rest.index(after: nameEnd)...]
        let recheckEnd = rest.firstIndex(of: "\n") ?? rest.endIndex
        let recheck = Int64(rest[..<recheckEnd]).flatMap { $0 > 0 ? $0 : nil }
        var wake: [WaiterID] = []
        if recheckEnd < rest.endIndex {
            for member in rest[rest.index(after: recheckEnd)...].split(separator: "\n") {
                if let waiter = waiter(fromMember: member) { wake.append(waiter) }
            }
        }
        return Wakeup(name: name, hint: WaitHint(wake: wake, recheckAfterMs: recheck))
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

    /// The client belongs to whoever made it; nothing to close here.
    public func close() async {}

    // MARK: Keys and replies

    private struct Keys {
        var lease, fence, waiters: String
    }

    private static func keys(_ name: LockName) -> Keys {
        let base = "lockd:{\(name.value)}:"
        return Keys(lease: base + "lease", fence: base + "fence", waiters: base + "waiters")
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

    /// A script's `recheck_ms, head` pair as a hint for this instance's
    /// waiters: wake the head when it is ours (and not `except`, who asked).
    private func hint(recheck: RESPValue, head: RESPValue, except: WaiterID?) throws(LockError) -> WaitHint {
        let recheckMs = try Self.int(recheck)
        var wake: [WaiterID] = []
        if let head = head.string, let waiter = waiter(fromMember: head), waiter != except { wake.append(waiter) }
        return WaitHint(wake: wake, recheckAfterMs: recheckMs > 0 ? recheckMs : nil)
    }

    private static func name(fromLeaseKey key: String) -> LockName? {
        guard key.hasPrefix("lockd:{"), key.hasSuffix("}:lease") else { return nil }
        return try? LockName(String(key.dropFirst(7).dropLast(7)))
    }

    private static let malformed = LockError.unavailable("the lock store answered in an unexpected way")

    private static func fields(_ reply: RESPValue, count: Int) throws(LockError) -> [RESPValue] {
        guard let fields = reply.array, fields.count >= count else { throw malformed }
        return fields
    }

    private static func int(_ value: RESPValue) throws(LockError) -> Int64 {
        guard let number = value.int else { throw malformed }
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

    private func run(_ script: RedisScript, _ operation: String, keys: [String], arguments: [String]) async throws(LockError) -> RESPValue {
        try await measured(operation) { () throws(RedisError) in try await client.run(script, keys: keys, arguments: arguments) }
    }

    private func send(_ command: [RESPBulk], _ operation: String) async throws(LockError) -> RESPValue {
        try await measured(operation) { () throws(RedisError) in try await client.send(RedisCommand(command)) }
    }

    /// Runs one store call, recording its duration and outcome in the metrics.
    private func measured<Value>(_ operation: String, _ call: () async throws(RedisError) -> Value) async throws(LockError) -> Value {
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
    private func unavailable(_ error: RedisError) -> LockError {
        if Task.isCancelled { return .cancelled }
        // During an outage every request fails the same way: warn once a
        // second and keep the rest at debug, so the log stays readable.
        let now = MonotonicClock.now()
        let last = lastWarning.load(ordering: .relaxed)
        if now &- last >= 1_000_000_000,
           lastWarning.compareExchange(expected: last, desired: now, ordering: .relaxed).exchanged {
            logger.warning("lock store call failed; answering 503", metadata: ["error": "\(error)"])
        } else {
            logger.debug("lock store call failed; answering 503", metadata: ["error": "\(error)"])
        }
        return .unavailable("the lock store is unavailable; try again shortly")
    }
}
