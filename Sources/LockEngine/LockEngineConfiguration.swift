/// The engine's rules and limits.
public struct LockEngineConfiguration: Sendable {
    /// TTL when the request names none, in milliseconds.
    public var defaultTTLMs: Int64 = 30_000
    /// Shortest TTL a client may ask for, in milliseconds.
    public var minTTLMs: Int64 = 100
    /// Longest TTL a client may ask for, in milliseconds (one day).
    public var maxTTLMs: Int64 = 86_400_000
    /// Longest `wait_ms` a client may ask for (`--max-wait-ms`).
    public var maxWaitMs: Int64 = 60_000
    /// Durability of acquires and renewals that name none (`--durability`).
    public var defaultDurability: Durability = .primary
    /// Longest `owner` label, in UTF-8 bytes.
    public var maxOwnerBytes = 256
    /// How often this process tells the store it is alive while it has
    /// waiters. It must be well inside the store's liveness window
    /// (``RedisLockStore/livenessWindowMs``, 600 ms): what is left of the
    /// window is the longest stall that costs no waiter its place.
    public var beatInterval: Duration = .milliseconds(100)
    /// How often each queue this process waits in is checked to still be in
    /// the store (a safety net: a reconnection or a lost beat triggers a
    /// full check at once).
    public var queueCheckInterval: Duration = .seconds(5)
    /// How long a waiting acquire rides out an unreachable store before it
    /// is answered 503: a Redis restart or failover within this time costs
    /// waiters nothing.
    public var outageGrace: Duration = .seconds(1)

    /// The defaults of PRODUCT.md.
    public init() {}
}
