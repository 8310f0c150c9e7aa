import LockdRedis
import LockdTransport

/// Readying Redis for lockd's first requests, at start-up.
///
/// Each loop's connection starts connecting when the client is made, but a
/// request's first script call still found the scripts' library missing
/// (`FCALL` → `FUNCTION LOAD` → `FCALL` again) and, on a loaded host, its
/// loop's connection still in its handshake: three round trips and a
/// compile inside the 500 ms command timeout, answered 503 when they did
/// not fit. ``prepare()`` does that work before any request needs it.
extension RedisLockBackend {
    /// Readies what a request's first call needs: on every loop, its
    /// connection to each master connected and past its handshake, and the
    /// scripts' library loaded on each master (one read-only status call of
    /// a name in each master's slots, which loads it the way a request's
    /// call would); the upkeep connection answering too.
    ///
    /// Returns once all of that answered, or when the calling task is
    /// cancelled. While Redis is down or refuses, it tries again, backing
    /// off to once a second: run it beside serving, never before it — lockd
    /// starts and answers `/readyz` 503 while Redis is down. Nothing is
    /// logged or counted in the metrics: a request that fails says why.
    ///
    /// ```swift
    /// let preparation = Task { await backend.prepare() }   // ends by itself once Redis answered
    /// ```
    public func prepare() async {
        await withTaskGroup(of: Void.self) { group in
            for loop in loops.loops {
                group.addTask(executorPreference: loop) { [self] in
                    await untilServed { () throws(RedisError) in
                        for name in try probeNames() {
                            _ = try await client.run(store.scripts.status, keys: RedisLockStore.statusKeys(name), arguments: [])
                        }
                    }
                }
            }
            group.addTask { [self] in
                await untilServed { () throws(RedisError) in try await livenessClient.ping() }
            }
        }
    }

    /// Runs `attempt` until it succeeds or the task is cancelled, waiting
    /// 50 ms after the first failure, doubling up to 1 s.
    private func untilServed(_ attempt: () async throws(RedisError) -> Void) async {
        var delay = Duration.milliseconds(50)
        while !Task.isCancelled {
            do throws(RedisError) {
                return try await attempt()
            } catch {
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(1))
            }
        }
    }

    /// One lock name per master in use, whose keys that master serves (one
    /// name for a single server or a Sentinel master).
    /// - Throws: ``RedisError`` while no master is known.
    private func probeNames() throws(RedisError) -> [LockName] {
        try client.shards().map { shard in
            // A few hundred tries at most: each try lands in a slot at random,
            // and a master serves a share of the 16,384 slots.
            var index = 0
            while true {
                let text = "lockd-prepare-\(index)"
                let slot = Int(RedisHashSlot(key: "{\(text)}").value)
                if shard.slots.contains(where: { $0.contains(slot) }) || index >= 100_000, let name = try? LockName(text) {
                    return name
                }
                index += 1
            }
        }
    }
}
