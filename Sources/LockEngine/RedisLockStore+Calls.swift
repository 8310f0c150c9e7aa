import LockdRedis
import LockdTransport
import Logging
import RESP
import Synchronization

/// Running script calls: metrics for each, replication waits, and every
/// Redis failure made the caller's ``LockError``.
extension RedisLockStore {
    /// Runs `script` once per call in one round trip; any call's failure fails them all.
    func run(
        _ script: RedisScript, _ operation: StoreOperation, pipelined calls: [(keys: [String], arguments: [String])], on client: RedisClient
    ) async throws(LockError) -> [RESPValue] {
        try await measured(operation) { () throws(RedisError) in
            try await client.run(script, pipelined: calls).map { result throws(RedisError) in try result.get() }
        }
    }

    nonisolated(nonsending) func run(_ script: RedisScript, _ operation: StoreOperation, keys: [String], arguments: [String]) async throws(LockError) -> RESPValue {
        try await measured(operation) { () throws(RedisError) in try await client.run(script, keys: keys, arguments: arguments) }
    }

    /// Runs `script` on keys and arguments written beforehand, the first `keyCount` of them keys.
    nonisolated(nonsending) func run(
        _ script: RedisScript, _ operation: StoreOperation, keyCount: Int, arguments: RESPEncodedArguments
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
    struct CallStart: Sendable {
        let time: UInt64
        let callerMetadata: Logger.Metadata?
    }

    /// A call's start at `time` (by default, now).
    func callStart(at time: UInt64 = MonotonicClock.now()) -> CallStart {
        CallStart(time: time,
                  callerMetadata: callsFailing.load(ordering: .relaxed) ? logger.handler.metadataProvider?.get() ?? [:] : nil)
    }

    /// A script call's outcome, read when the reply is (see
    /// ``RedisClient/run(_:keyCount:arguments:idempotent:cancellation:completion:)``):
    /// recorded in the metrics, then the reply read by `read` or a failure
    /// made the caller's ``LockError``.
    func finished<Value>(
        _ reply: borrowing RedisScriptReply, _ operation: StoreOperation, _ start: CallStart, cancellation: CallCancellation,
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
    nonisolated(nonsending) func run(
        _ script: RedisScript, _ operation: StoreOperation, durability: Durability, keyCount: Int, arguments: RESPEncodedArguments
    ) async throws(LockError) -> (reply: RESPValue, replicated: Bool) {
        guard durability == .replicated else { return (try await run(script, operation, keyCount: keyCount, arguments: arguments), true) }
        let confirmed = try await measured(operation) { () throws(RedisError) in
            try await client.run(script, keyCount: keyCount, arguments: arguments, waitingForReplicas: 1, timeout: replicationTimeout)
        }
        return (confirmed.reply, confirmed.replicas >= 1)
    }

    func send(_ command: [RESPBulk], _ operation: StoreOperation, route: RedisRoute) async throws(LockError) -> RESPValue {
        try await measured(operation) { () throws(RedisError) in try await client.send(RedisCommand(command), route: route, idempotent: true) }
    }

    /// Runs one store call, recording its duration and outcome in the metrics.
    nonisolated(nonsending) func measured<Value>(_ operation: StoreOperation, _ call: nonisolated(nonsending) () async throws(RedisError) -> Value) async throws(LockError) -> Value {
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
        // The line says only what the store knows: the call may be a
        // request's (the API logs its 503) or the upkeep's (tried again).
        let now = MonotonicClock.now()
        let last = lastWarning.load(ordering: .relaxed)
        var metadata = callerMetadata
        metadata["error"] = "\(error)"
        if warns, now &- last >= 1_000_000_000,
           lastWarning.compareExchange(expected: last, desired: now, ordering: .relaxed).exchanged {
            logger.warning("lock store call failed", metadata: metadata)
        } else {
            logger.debug("lock store call failed", metadata: metadata)
        }
        return .unavailable("the lock store is unavailable; try again shortly")
    }
}
