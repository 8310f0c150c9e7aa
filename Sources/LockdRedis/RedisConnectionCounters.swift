import LockdTransport
import Synchronization

/// How a client's connections stand: for a readiness check and metrics,
/// read from any thread.
public struct RedisConnectionStats: Sendable, Equatable {
    /// Connections the client keeps open (those started and not shut down).
    public var connections: Int
    /// Of those, the ones connected and past their handshake now.
    public var ready: Int
    /// Times a connection that had been ready became ready again.
    public var reconnects: UInt64

    /// Whether every connection is ready (and there is at least one).
    public var allReady: Bool { connections > 0 && ready == connections }
}

/// The counters behind ``RedisConnectionStats``, shared by a client's
/// connections; each connection changes them from its own loop.
final class RedisConnectionCounters: Sendable {
    let connections = Atomic<Int>(0)
    let ready = Atomic<Int>(0)
    let reconnects = Atomic<UInt64>(0)
    /// One error line per 10 s about a refusal, whichever connection meets it.
    let refusals = Throttle(interval: .seconds(10))

    var stats: RedisConnectionStats {
        RedisConnectionStats(
            connections: connections.load(ordering: .relaxed), ready: ready.load(ordering: .relaxed),
            reconnects: reconnects.load(ordering: .relaxed))
    }
}
