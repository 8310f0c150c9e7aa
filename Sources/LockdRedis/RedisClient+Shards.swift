import LockdTransport
import RESP

/// What spans masters — readiness, listing every shard, a command on each —
/// and scripts confirmed by replicas.
extension RedisClient {
    /// Checks that every master answers on every connection of every loop,
    /// and in a cluster that every hash slot has a master: success means any
    /// caller's next command has a working connection, whatever its key.
    /// - Throws: ``RedisError`` when a master does not answer, a slot has no
    ///   master, or a master answers something other than PONG.
    nonisolated(nonsending) public func ping() async throws(RedisError) {
        var targets: [(router: LoopRouter, connection: RedisConnection)] = []
        for router in routers {
            switch await onLoop(router, { router.primaryConnections() }) {
            case .success(let connections): targets += connections.map { (router, $0) }
            case .failure(let error):
                noticed(error)
                throw error
            }
        }
        // All at once: a connection busy with a long pipeline must not make
        // the whole check outlast a readiness probe's timeout.
        let replies = await withTaskGroup(of: Result<RESPValue, RedisError>.self) { group in
            for (router, connection) in targets {
                group.addTask(executorPreference: router.loop) {
                    await self.roundTrip(on: router, cancelledCallerWaitsForReply: false) { id, waiter in connection.send(["PING"], id: id, waiter: waiter) }
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        for reply in replies {
            if case .failure(let error) = reply { noticed(error) }
            if try reply.get().string != "PONG" {
                throw RedisError(.protocolViolation, message: "PING answered with something other than PONG")
            }
        }
    }

    /// The masters in use and the slots each serves, by first slot: one
    /// shard for a single server or a Sentinel master, one per master in a
    /// cluster. Walk the keyspace by sending `SCAN` to each with
    /// ``RedisRoute/slot(_:)`` and the shard's ``RedisShard/firstSlot``.
    ///
    /// ```swift
    /// for shard in try client.shards() {
    ///     var cursor = "0"
    ///     repeat {
    ///         let page = try await client.send(["SCAN", .string(cursor), "MATCH", "lockd:*"], route: .slot(shard.firstSlot))
    ///         cursor = page.array?.first?.string ?? "0"
    ///     } while cursor != "0"
    /// }
    /// ```
    ///
    /// - Throws: ``RedisError`` `unreachable` while no master is known or,
    ///   in a cluster, some slot has none (a listing would miss keys).
    public func shards() throws(RedisError) -> [RedisShard] {
        let snapshot = publisher.snapshot
        if case .slots = snapshot.layout, let problem = snapshot.problem { throw problem }
        let shards = snapshot.shards
        guard !shards.isEmpty else { throw snapshot.noPrimaryError(for: nil) }
        return shards
    }

    /// The master serving `slot` now, as the client's topology has it (the
    /// one master outside a cluster); nil while none is known.
    public func primary(serving slot: RedisHashSlot) -> RedisEndpoint? {
        switch publisher.snapshot.layout {
        case .single(let master): master
        case .slots(let map): map.primary(for: slot)
        }
    }

    /// Sends `command` to every master at once (such as `SCRIPT LOAD`,
    /// `DBSIZE`, `FLUSHDB`) and returns each one's outcome.
    /// - Throws: ``RedisError`` when no master is known (see ``shards()``).
    nonisolated(nonsending) public func sendToEveryShard(_ command: RedisCommand, idempotent: Bool = false) async throws(RedisError) -> [RedisShardReply] {
        let shards = try shards()
        let loop = router().loop
        return await withTaskGroup(of: RedisShardReply.self) { group in
            for shard in shards {
                group.addTask(executorPreference: loop) {
                    do throws(RedisError) {
                        return RedisShardReply(shard: shard, result: .success(try await self.send(command, route: .slot(shard.firstSlot), idempotent: idempotent)))
                    } catch {
                        return RedisShardReply(shard: shard, result: .failure(error))
                    }
                }
            }
            return await group.reduce(into: []) { $0.append($1) }.sorted { $0.shard.firstSlot < $1.shard.firstSlot }
        }
    }

    /// Runs `script` and then `WAIT replicas timeout` on the same connection,
    /// so the count of replicas that acknowledged covers the script's writes.
    ///
    /// Replicated calls use a connection of their own to each master (per
    /// loop), whose command timeout allows for the `WAIT`: a slow replica
    /// holds up only other replicated calls. Routing, `FCALL` or `EVALSHA`, `NOSCRIPT`, redirects
    /// and retries are as for ``run(_:keys:arguments:idempotent:)``.
    ///
    /// ```swift
    /// let granted = try await client.run(acquire, keys: keys, arguments: arguments, idempotent: true,
    ///                                    waitingForReplicas: 1, timeout: .milliseconds(500))
    /// if granted.replicas < 1 { /* not replicated in time: undo, answer 503 */ }
    /// ```
    ///
    /// - Parameters:
    ///   - replicas: how many replicas must acknowledge (`WAIT`'s numreplicas).
    ///   - timeout: how long `WAIT` may wait, from 1 ms up to
    ///     ``RedisConfiguration/maximumReplicationWait``.
    /// - Returns: the script's reply and how many replicas acknowledged it in
    ///   time (fewer than asked when the timeout passed).
    /// - Throws: ``RedisError`` as ``run(_:keys:arguments:idempotent:)`` does.
    nonisolated(nonsending) public func run(
        _ script: RedisScript, keys: [String], arguments: [String], idempotent: Bool = false,
        waitingForReplicas replicas: Int, timeout: Duration
    ) async throws(RedisError) -> RedisReplicatedReply {
        try await run(script, keyCount: keys.count, arguments: RedisScript.encode(keys: keys, arguments: arguments), idempotent: idempotent,
                      waitingForReplicas: replicas, timeout: timeout)
    }

    /// ``run(_:keys:arguments:idempotent:waitingForReplicas:timeout:)`` with
    /// the keys and arguments written beforehand, the first `keyCount` of
    /// them keys (see ``run(_:keyCount:arguments:idempotent:)``).
    nonisolated(nonsending) public func run(
        _ script: RedisScript, keyCount: Int, arguments: RESPEncodedArguments, idempotent: Bool = false,
        waitingForReplicas replicas: Int, timeout: Duration
    ) async throws(RedisError) -> RedisReplicatedReply {
        let longest = min(max(timeout, .milliseconds(1)), configuration.maximumReplicationWait)
        let wait: [RESPBulk] = ["WAIT", .integer(Int64(max(0, replicas))), .integer(Int64(max(1, MonotonicClock.nanoseconds(longest) / 1_000_000)))]
        let route = scriptRoute(keyCount: keyCount, arguments: arguments)
        let slot = route.slot
        let router = router()
        let reply = try await runScript(script, route: route) { form throws(RedisError) in
            let request = Request.replicated([script.call(keyCount: keyCount, arguments: arguments, form: form).arguments, wait])
            return try await routed(request, slot: slot, idempotent: idempotent, cancelledCallerWaitsForReply: true, on: router)
        }
        guard let parts = reply.array, parts.count == 2, let acknowledged = parts[1].int else {
            throw RedisError(.protocolViolation, message: "WAIT answered in an unexpected way")
        }
        return RedisReplicatedReply(reply: parts[0], replicas: acknowledged)
    }
}

/// One master's outcome of ``RedisClient/sendToEveryShard(_:idempotent:)``.
public struct RedisShardReply: Sendable {
    /// The master and its slots.
    public let shard: RedisShard
    /// Its reply, or why there is none.
    public let result: Result<RESPValue, RedisError>
}

/// A script's reply and how many replicas acknowledged its writes
/// (``RedisClient/run(_:keys:arguments:idempotent:waitingForReplicas:timeout:)``).
public struct RedisReplicatedReply: Sendable, Hashable {
    /// The script's reply.
    public let reply: RESPValue
    /// Replicas that acknowledged the writes within the timeout.
    public let replicas: Int
}
