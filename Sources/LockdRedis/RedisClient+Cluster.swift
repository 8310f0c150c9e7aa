import LockdTransport
import RESP

/// Routing in a Redis Cluster: each attempt goes to the master the slot map
/// names (or a redirection names), and ``ClusterRetryPolicy`` decides what
/// follows a failure.
extension RedisClient {
    /// What one attempt sends.
    enum Request: Sendable {
        /// One command.
        case command([RESPBulk])
        /// A script and the `WAIT` after it, on the node's replication
        /// connection; the reply is an array of both replies.
        case replicated([[RESPBulk]])
    }

    /// Sends `request` to the master of `slot` (cluster), following
    /// redirections and retrying as the policy says, or to the single master.
    nonisolated(nonsending) func routed(
        _ request: Request, slot: RedisHashSlot?, idempotent: Bool, cancelledCallerWaitsForReply waits: Bool, on router: LoopRouter
    ) async throws(RedisError) -> RESPValue {
        var policy = ClusterRetryPolicy(deadline: MonotonicClock.now() &+ commandTimeout, idempotent: idempotent)
        var target = LoopRouter.Target.slot(slot)
        var asking = false
        while true {
            // Only an idempotent command compares masters before and after.
            let intended = idempotent ? node(for: target) : nil
            let result = await attempt(request, to: target, asking: asking, cancelledCallerWaitsForReply: waits, on: router)
            guard case .failure(let error) = result else { return try result.get() }
            guard isCluster else {
                noticed(error)
                throw error
            }
            let now = MonotonicClock.now()
            let sentTo = intended ?? node(for: target)
            let ownerChanged = intended != nil && node(for: .slot(slot)) != intended
            switch policy.decide(error, from: sentTo ?? fallbackNode, now: now, ownerChanged: ownerChanged) {
            case .redirect(let redirect):
                publisher.counters.redirects.add(1, ordering: .relaxed)
                if redirect.kind == .moved { monitor?.moved(redirect) }
                target = .node(redirect.endpoint)
                asking = redirect.kind == .ask
            case .retry(let delay, let refresh):
                publisher.counters.retries.add(1, ordering: .relaxed)
                if refresh { monitor?.suspect(error) }
                if delay > .zero {
                    do { try await Task.sleep(for: delay) } catch { throw RedisError(.cancelled, message: "the caller was cancelled") }
                }
                target = .slot(slot)
                asking = false
            case .fail(let failure, let refresh):
                if refresh { monitor?.suspect(error) }
                throw failure
            }
        }
    }

    /// One attempt of `request`; a script's error reply inside a replicated
    /// request becomes the attempt's error, so it is redirected like any other.
    nonisolated(nonsending) private func attempt(
        _ request: Request, to target: LoopRouter.Target, asking: Bool, cancelledCallerWaitsForReply waits: Bool, on router: LoopRouter
    ) async -> Result<RESPValue, RedisError> {
        switch request {
        case .command(let arguments) where !asking:
            return await roundTrip(on: router, cancelledCallerWaitsForReply: waits) { id, waiter in router.send(arguments, to: target, id: id, waiter: waiter) }
        case .command(let arguments):
            let reply = await roundTrip(on: router, cancelledCallerWaitsForReply: waits) { id, waiter in
                router.sendPipeline([["ASKING"], arguments], to: target, id: id, waiter: waiter)
            }
            return reply.flatMap { Self.replies($0, dropping: 1).map { $0[0] } }
        case .replicated(let commands):
            let reply = await roundTrip(on: router, cancelledCallerWaitsForReply: waits) { id, waiter in
                router.sendPipeline(asking ? [["ASKING"]] + commands : commands, to: target, replicated: true, id: id, waiter: waiter)
            }
            return reply.flatMap { Self.replies($0, dropping: asking ? 1 : 0).map { .array($0) } }
        }
    }

    /// A pipeline's replies without the first `dropped` (`ASKING`'s); the
    /// first remaining one's error reply becomes a failure.
    private static func replies(_ reply: RESPValue, dropping dropped: Int) -> Result<[RESPValue], RedisError> {
        guard let replies = reply.array, replies.count > dropped else {
            return .failure(RedisError(.protocolViolation, message: "a pipeline got too few replies"))
        }
        let kept = Array(replies.dropFirst(dropped))
        if let message = kept[0].errorMessage { return .failure(.reply(message)) }
        return .success(kept)
    }

    /// Sends each command to its slot's master, one pipeline per master, and
    /// redirects or retries each failed command on its own.
    nonisolated(nonsending) func routedPipeline(
        _ commands: [[RESPBulk]], slots: [RedisHashSlot?], idempotent: Bool, cancelledCallerWaitsForReply waits: Bool, on router: LoopRouter
    ) async throws(RedisError) -> [Result<RESPValue, RedisError>] {
        let deadline = MonotonicClock.now() &+ commandTimeout
        var policies = [ClusterRetryPolicy](repeating: ClusterRetryPolicy(deadline: deadline, idempotent: idempotent), count: commands.count)
        var results = [Result<RESPValue, RedisError>?](repeating: nil, count: commands.count)
        var todo = commands.indices.map { (index: $0, target: LoopRouter.Target.slot(slots[$0]), asking: false) }
        var first = true
        while !todo.isEmpty {
            var batch: [[RESPBulk]] = []
            var targets: [LoopRouter.Target] = []
            var positions: [Int?] = []
            if first {
                // Every command, none after an ASK: as the caller gave them.
                batch = commands
                targets = todo.map(\.target)
                positions = Array(todo.indices)
                first = false
            } else {
                for (position, entry) in todo.enumerated() {
                    if entry.asking {
                        // Same node, just before: the same connection, back to back.
                        batch.append(["ASKING"])
                        targets.append(entry.target)
                        positions.append(nil)
                    }
                    batch.append(commands[entry.index])
                    targets.append(entry.target)
                    positions.append(position)
                }
            }
            let replies = try await splitRoundTrip(batch, to: targets, cancelledCallerWaitsForReply: waits, on: router)
            var next: [(index: Int, target: LoopRouter.Target, asking: Bool)] = []
            var pause = Duration.zero
            for (position, reply) in zip(positions, replies) {
                guard let position else { continue }
                let entry = todo[position]
                guard case .failure(let error) = reply else {
                    results[entry.index] = reply
                    continue
                }
                let slot = slots[entry.index]
                switch policies[entry.index].decide(error, from: node(for: entry.target) ?? fallbackNode, now: MonotonicClock.now(), ownerChanged: false) {
                case .redirect(let redirect):
                    publisher.counters.redirects.add(1, ordering: .relaxed)
                    if redirect.kind == .moved { monitor?.moved(redirect) }
                    next.append((entry.index, .node(redirect.endpoint), redirect.kind == .ask))
                case .retry(let delay, let refresh):
                    publisher.counters.retries.add(1, ordering: .relaxed)
                    if refresh { monitor?.suspect(error) }
                    pause = max(pause, delay)
                    next.append((entry.index, .slot(slot), false))
                case .fail(let failure, let refresh):
                    if refresh { monitor?.suspect(error) }
                    results[entry.index] = .failure(failure)
                }
            }
            if pause > .zero {
                do { try await Task.sleep(for: pause) } catch { throw RedisError(.cancelled, message: "the caller was cancelled") }
            }
            todo = next
        }
        // A master's part that failed as a whole (no error reply from Redis)
        // fails the pipeline, as the whole pipeline does with one server.
        var final: [Result<RESPValue, RedisError>] = []
        for result in results {
            let result = result ?? .failure(RedisError(.protocolViolation, message: "a pipelined command got no reply"))
            if case .failure(let error) = result, error.code == nil { throw error }
            final.append(result)
        }
        return final
    }

    /// Sends each command to its target's node in one loop iteration and
    /// waits for every reply (a cancelled caller: as ``roundTrip(on:cancelledCallerWaitsForReply:_:)`` says).
    nonisolated(nonsending) private func splitRoundTrip(
        _ commands: [[RESPBulk]], to targets: [LoopRouter.Target], cancelledCallerWaitsForReply waits: Bool, on router: LoopRouter
    ) async throws(RedisError) -> [Result<RESPValue, RedisError>] {
        if Task.isCancelled { throw RedisError(.cancelled, message: "the caller was cancelled") }
        let id = router.nextID.wrappingAdd(1, ordering: .relaxed).newValue
        return await withTaskCancellationHandler {
            await withUnsafeContinuation { (continuation: UnsafeContinuation<[Result<RESPValue, RedisError>], Never>) in
                let submit: @Sendable () -> Void = {
                    router.sendSplit(commands, to: targets, id: id) { continuation.resume(returning: $0) }
                }
                if router.loop.inEventLoop { submit() } else { router.loop.execute(submit) }
            }
        } onCancel: {
            router.loop.execute { router.cancel(id: id, answeringAtOnce: !waits) }
        }
    }

    /// The node `target` names by the latest slot map.
    private func node(for target: LoopRouter.Target) -> RedisEndpoint? {
        switch target {
        case .node(let endpoint): endpoint
        case .slot(let slot): publisher.snapshot.primary(for: slot)
        }
    }

    /// The host a redirection without one refers to when the node it came from is unknown.
    private var fallbackNode: RedisEndpoint {
        RedisEndpoint(host: configuration.host, port: configuration.port)
    }
}
