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
    /// Longest `owner` label, in UTF-8 bytes.
    public var maxOwnerBytes = 256
    /// How often this process tells the store its waiters are alive. The
    /// store forgets a waiter after three missed beats, so a waiter whose
    /// lockd died holds up its queue for at most about four intervals.
    public var heartbeatInterval: Duration = .seconds(1)

    /// The defaults of PRODUCT.md.
    public init() {}
}
