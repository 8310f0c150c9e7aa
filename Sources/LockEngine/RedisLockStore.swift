import LockdRedis
import Logging
import LockdTransport
import RESP
import Synchronization

/// The product's ``LockStore``: every lease in Redis, shared by all lockd
/// instances that use the same Redis. Each operation is one script call.
///
/// ```swift
/// let client = RedisClient(configuration: try RedisConfiguration(url: "redis://127.0.0.1:6379"), eventLoopGroup: loops, logger: logger)
/// let store = RedisLockStore(client: client, logger: logger)
/// ```
public final class RedisLockStore: LockStore {
    private let client: RedisClient
    private let logger: Logger
    private let waiterAliveMs: Int64
    private let metrics: LockMetrics
    /// When a failure was last logged at warning level (monotonic nanoseconds).
    private let lastWarning = Atomic<UInt64>(0)

    private static let acquireScript = RedisScript(RedisLockScripts.acquire)
    private static let renewScript = RedisScript(RedisLockScripts.renew)
    private static let releaseScript = RedisScript(RedisLockScripts.release)
    private static let statusScript = RedisScript(RedisLockScripts.status)
    private static let removeWaiterScript = RedisScript(RedisLockScripts.removeWaiter)
    private static let heartbeatScript = RedisScript(RedisLockScripts.heartbeat)

    /// Creates a store over `client`.
    /// - Parameter waiterAliveMs: how long a waiter stays queued without a
    ///   heartbeat from its lockd (three heartbeat intervals by default).
    public init(client: RedisClient, waiterAliveMs: Int64 = 3_000, metrics: LockMetrics = LockMetrics(), logger: Logger) {
        self.client = client
        self.waiterAliveMs = waiterAliveMs
        self.metrics = metrics
        self.logger = logger
    }

    public func acquire(_ attempt: AcquireAttempt) async throws(LockError) -> AcquireResult {
        let keys = Self.keys(attempt.name)
        let reply = try await run(Self.acquireScript, "acquire", keys: [keys.lease, keys.fence, keys.queue, keys.alive, keys.seq], arguments: [
            attempt.token.value, String(attempt.ttlMs), attempt.owner ?? "", attempt.waiter?.value ?? "", String(waiterAliveMs),
        ])
        let fields = try Self.fields(reply, count: 6)
        let owner = fields[4].string.flatMap { $0.isEmpty ? nil : $0 }
        if fields[0].int == 1 {
            let now = try Self.int(fields[2])
            let ttl = try Self.int(fields[3])
            let lease = Lease(name: attempt.name, token: attempt.token, fence: try Self.int(fields[1]),
                              ttlMs: ttl, expiresAtMs: now + ttl, owner: owner)
            return .granted(lease, isRetry: fields[5].int == 1)
        }
        let now = try Self.int(fields[1])
        let remaining = max(0, try Self.int(fields[2]))
        let fence = try Self.int(fields[3])
        let holders = fence > 0 ? [Holder(owner: owner, fence: fence, expiresAtMs: now + remaining, remainingMs: remaining)] : []
        return .held(holders: holders, retryAfterMs: remaining, isHeadOfQueue: fields[5].int == 1)
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
        let reply = try await run(Self.releaseScript, "release", keys: [keys.lease, keys.queue, keys.alive], arguments: [token.value, name.value])
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
        let replies = try await run(Self.statusScript, "status", pipelined: names.map { (keys: [Self.keys($0).lease], arguments: []) })
        var locks: [LockStatus] = []
        for (name, reply) in zip(names, replies) {
            let status = try Self.status(of: name, from: reply)
            if status.isHeld { locks.append(status) }
        }
        return LockPage(locks: locks, nextCursor: nextCursor)
    }

    public func removeWaiter(_ waiter: WaiterID, from name: LockName) async throws(LockError) {
        let keys = Self.keys(name)
        _ = try await run(Self.removeWaiterScript, "remove_waiter", keys: [keys.queue, keys.alive], arguments: [waiter.value, name.value])
    }

    public func heartbeat(_ waiters: [LockName: [WaiterID]]) async throws(LockError) {
        let calls = waiters.map { name, ids in
            let keys = Self.keys(name)
            return (keys: [keys.queue, keys.alive, keys.seq, keys.lease], arguments: [String(waiterAliveMs), name.value] + ids.map(\.value))
        }
        // Pipelined: one round trip per chunk rather than per name, so a beat
        // over thousands of names ends long before waiters count as gone.
        // Chunked, so that each pipeline's work fits in one command timeout.
        for start in stride(from: 0, to: calls.count, by: Self.heartbeatChunk) {
            _ = try await run(Self.heartbeatScript, "heartbeat", pipelined: Array(calls[start..<min(start + Self.heartbeatChunk, calls.count)]))
        }
    }

    /// Names per heartbeat pipeline.
    private static let heartbeatChunk = 500

    public func deliverWakeups(to handler: @escaping @Sendable (Wakeup) -> Void) async {
        while !Task.isCancelled {
            do {
                let subscription = try await client.subscribe(to: [RedisLockScripts.wakeupChannel])
                for await event in subscription {
                    // After a reconnect, messages in between are lost; the
                    // engine's heartbeat wakes any queue head within a beat.
                    guard case .message(let message) = event, let wakeup = Self.wakeup(from: message.string) else { continue }
                    handler(wakeup)
                }
            } catch {
                logger.debug("wake-up subscription failed; retrying", metadata: ["error": "\(error)"])
            }
            // Ended without cancellation: the client is shutting down or
            // reconnecting; do not spin.
            try? await Task.sleep(for: .milliseconds(250))
        }
    }

    /// Parses `name\nwaiter`, the release script's message.
    static func wakeup(from message: String) -> Wakeup? {
        guard let newline = message.firstIndex(of: "\n"), let name = try? LockName(String(message[..<newline])) else { return nil }
        return Wakeup(name: name, waiter: WaiterID(String(message[message.index(after: newline)...])))
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
        var lease, fence, queue, alive, seq: String
    }

    private static func keys(_ name: LockName) -> Keys {
        let base = "lockd:{\(name.value)}:"
        return Keys(lease: base + "lease", fence: base + "fence", queue: base + "queue", alive: base + "alive", seq: base + "seq")
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
        _ script: RedisScript, _ operation: String, pipelined calls: [(keys: [String], arguments: [String])]
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
