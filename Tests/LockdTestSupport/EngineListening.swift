import LockEngine
import LockdRedis

/// Waits until an engine just started (`LockEngine.run()`) hears `store`'s
/// wake-ups and events, up to 30 s: before that a release wakes no waiter
/// (it waits for its recheck) and an event stream opened meanwhile waits a
/// second at most for the engine, then misses what follows. On a busy
/// machine the engine's task can start later than both allow.
///
/// The in-memory store has the engine's handler; Redis counts the engine's
/// subscription to the wake-up channel (`lockd:waiting`), so `redis` must be
/// a server of this engine alone.
/// - Throws: ``TestFailure`` when Redis does not count it within 30 s.
func untilEngineListens(to store: any LockStore, redis client: RedisClient?) async throws {
    guard let client else { return await store.waitForEvents(timeout: .seconds(30)) }
    let subscribed = await eventually(within: .seconds(30)) {
        let reply = try? await client.send(["PUBSUB", "NUMSUB", "lockd:waiting"])
        return (reply?.array?.last?.int ?? 0) > 0
    }
    if !subscribed { throw TestFailure("the engine did not subscribe to the wake-up channel within 30 s") }
}
