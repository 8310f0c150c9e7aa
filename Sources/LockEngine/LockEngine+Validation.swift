/// Checking a request against the engine's rules and limits.
extension LockEngine {
    /// The largest semaphore.
    public static let maxLimit = 1_000
    /// The longest lock delay, in milliseconds (Consul's limit too).
    public static let maxLockDelayMs: Int64 = 60_000

    /// Each range asked in place, its failure's message made out of line:
    /// the two checks called as functions (the TTL's, the durability's)
    /// cost every acquire ~40 instructions in calls and their frames.
    func validate(_ request: AcquireRequest) throws(LockError) {
        if !(configuration.minTTLMs...configuration.maxTTLMs).contains(request.ttlMs) { try validateTTL(request.ttlMs) }
        guard (0...configuration.maxWaitMs).contains(request.waitMs) else {
            throw .invalidRequest("wait_ms must be between 0 and \(configuration.maxWaitMs)")
        }
        if let owner = request.owner, owner.utf8.count > configuration.maxOwnerBytes {
            throw .invalidRequest("owner must be at most \(configuration.maxOwnerBytes) bytes")
        }
        guard (1...Self.maxLimit).contains(request.limit) else {
            throw .invalidRequest("limit must be between 1 and \(Self.maxLimit)")
        }
        guard request.mode == .exclusive || request.limit == 1 else {
            throw .invalidRequest("mode shared takes no limit above 1: a reader-writer lock is not a semaphore")
        }
        guard (0...Self.maxLockDelayMs).contains(request.lockDelayMs) else {
            throw .invalidRequest("lock_delay_ms must be between 0 and \(Self.maxLockDelayMs)")
        }
        let durability = request.durability ?? configuration.defaultDurability
        if durability != .primary { try validate(durability) }
    }

    /// A store without replicas (the in-memory one) can never confirm a
    /// grant on one: that is the request's (or the deployment's) mistake,
    /// not an outage to retry.
    func validate(_ durability: Durability) throws(LockError) {
        guard durability == .primary || store.canReplicate else {
            throw .invalidRequest("durability replicated needs lockd on Redis with replicas; this lockd keeps its leases in memory")
        }
    }

    func validateTTL(_ ttlMs: Int64) throws(LockError) {
        guard (configuration.minTTLMs...configuration.maxTTLMs).contains(ttlMs) else {
            throw .invalidRequest("ttl_ms must be between \(configuration.minTTLMs) and \(configuration.maxTTLMs)")
        }
    }
}
