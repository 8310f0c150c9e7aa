import LockEngine
import LockdTransport

/// Makes each loop's connection of a Redis store ready, by a call that
/// loads its library, however long a busy machine takes (up to 30 s).
///
/// The store connects on first use, and that first call must connect,
/// handshake and load the library within the command timeout (500 ms):
/// 40-215 ms at load 10, where a warm call takes 0-26 ms. On a busier
/// machine a test's first call failed `.unavailable` (an engine test) or a
/// request was answered 503 (in-process lockd).
func connectEveryLoop(of store: any LockStore, loops: EventLoopGroup) async throws {
    let name = try LockName("store-connect")
    for loop in loops.loops {
        _ = try await retrying(within: .seconds(30)) {
            try await Task(executorPreference: loop) { try await store.status(of: name) }.value
        }
    }
}
