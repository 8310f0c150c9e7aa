/// The settings of a run, as reported with its results.
public struct BenchSettings: Sendable, Equatable, Codable {
    /// The server's base URL.
    public var url: String
    /// Concurrent clients, one keep-alive connection each.
    public var clients: Int
    /// Distinct lock names.
    public var names: Int
    /// Whether clients share names (fewer names than clients).
    public var contended: Bool
    /// Event-loop threads driving the clients.
    public var threads: Int
    /// Requested run time in seconds.
    public var duration: Double
    /// `ttl_ms` sent with every acquire.
    public var ttlMs: Int
    /// `wait_ms` sent with every acquire.
    public var waitMs: Int
    /// What every lock name of the run starts with.
    public var namePrefix: String
    /// `limit` sent with every acquire: above 1 each name is a semaphore.
    public var limit: Int
    /// Whether every acquire takes a shared (reader) lease.
    public var shared: Bool
    /// `durability` sent with every acquire (`primary` or `replicated`); nil sends none.
    public var durability: String?
    /// `lock_delay_ms` sent with every acquire; 0 sends none.
    public var lockDelayMs: Int
    /// `GET /events` streams held open beside the cycle; nil for none.
    public var eventStreams: Int?
    /// The prefix those streams watch.
    public var eventPrefix: String?

    /// Creates a settings record.
    public init(url: String, clients: Int, names: Int, contended: Bool, threads: Int, duration: Double, ttlMs: Int, waitMs: Int,
                namePrefix: String, limit: Int = 1, shared: Bool = false, durability: String? = nil, lockDelayMs: Int = 0,
                eventStreams: Int? = nil, eventPrefix: String? = nil) {
        self.lockDelayMs = lockDelayMs
        self.durability = durability
        self.eventStreams = eventStreams
        self.eventPrefix = eventPrefix
        self.url = url
        self.clients = clients
        self.names = names
        self.contended = contended
        self.threads = threads
        self.duration = duration
        self.ttlMs = ttlMs
        self.waitMs = waitMs
        self.namePrefix = namePrefix
        self.limit = limit
        self.shared = shared
    }
}
