import LockEngine

/// Waits until `backend` has readied Redis for requests, as lockd does as
/// it starts (``RedisLockBackend/prepare()``: every loop's connection past
/// its handshake, the library loaded), however long a busy machine takes
/// (up to 30 s), so that a test's first call does not race a connection's
/// handshake and the library's load against the 500 ms command timeout.
/// - Throws: ``TestFailure`` when Redis is not ready within 30 s.
func prepared(_ backend: RedisLockBackend) async throws {
    let ready = await withTaskGroup(of: Bool.self) { group in
        group.addTask {
            await backend.prepare()
            return !Task.isCancelled
        }
        group.addTask {
            try? await Task.sleep(for: .seconds(30))
            return false
        }
        let first = await group.next() ?? false
        group.cancelAll()
        return first
    }
    if !ready { throw TestFailure("the Redis store was not ready within 30 s") }
}
