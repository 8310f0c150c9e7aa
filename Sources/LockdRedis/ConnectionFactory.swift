import LockdTransport
import Logging
import Synchronization

/// Makes every connection of one client: the client's settings, pointed at
/// the endpoint a connection is for.
struct ConnectionFactory: Sendable {
    /// What a connection is for.
    enum Purpose {
        /// Commands and scripts.
        case commands
        /// Scripts followed by `WAIT`: a longer command timeout, so that a
        /// `WAIT` neither times its connection out nor holds up other commands.
        case replication
        /// Pub/sub.
        case subscriber
        /// Questions to a sentinel.
        case sentinel(RedisSentinelSettings)
        /// A sentinel's `+switch-master` announcements.
        case sentinelSubscriber(RedisSentinelSettings)
    }

    let configuration: RedisConfiguration
    /// TLS settings read once, or why they cannot be used; nil for plain TCP.
    let tlsContext: Result<TLSClientContext, RedisError>?
    let logger: Logger
    /// Told when a connection to a master breaks: the topology may have changed.
    let doubts = TopologyDoubts()
    /// How the connections to Redis stand (``RedisClient/connectionStats``).
    let counters = RedisConnectionCounters()
    /// The same for connections to sentinels, kept apart from those.
    let sentinelCounters = RedisConnectionCounters()
    /// Told when a command connection completes its handshake (again): see
    /// ``RedisClient/connectionReadyEvents()``.
    let ready = ReadyListeners()

    init(configuration: RedisConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        // Read the TLS files once; if they are unusable, every connection
        // attempt fails with the reason (and lockd checks them at start-up).
        self.tlsContext = configuration.tls.map { tls in
            Result { () throws(TLSError) in try TLSClientContext(configuration: tls) }
                .mapError { RedisError(.invalidConfiguration, message: "TLS settings for Redis are unusable: \($0.message)") }
        }
    }

    /// A connection to `endpoint` owned by `loop`; not started.
    func connection(to endpoint: RedisEndpoint, on loop: EventLoop, for purpose: Purpose, seed: UInt64) -> RedisConnection {
        var settings = configuration
        settings.host = endpoint.host
        settings.port = endpoint.port
        var isSubscriber = false
        var counters = self.counters
        switch purpose {
        case .commands:
            break
        case .replication:
            settings.commandTimeout += configuration.maximumReplicationWait
        case .subscriber:
            isSubscriber = true
        case .sentinel(let sentinel), .sentinelSubscriber(let sentinel):
            settings.username = sentinel.username
            settings.password = sentinel.password
            settings.database = 0
            counters = sentinelCounters
            if case .sentinelSubscriber = purpose { isSubscriber = true }
        }
        return RedisConnection(configuration: settings, loop: loop, isSubscriber: isSubscriber, seed: seed, tlsContext: tlsContext,
                               counters: counters, logger: logger)
    }

    /// How long a connection no longer routed to stays open, so replies to
    /// commands already sent on it still arrive.
    var retirementDelay: Duration {
        configuration.commandTimeout * 2 + configuration.maximumReplicationWait
    }
}

/// Where signs that the topology changed go: the client's monitor, once it
/// exists (none for a single server).
final class TopologyDoubts: Sendable {
    /// The closure is kept in a struct: a function value held bare in a
    /// generic `Mutex` is re-wrapped in two reabstraction thunks by every
    /// `withLock` that writes it back, so each `raise()` would cost more
    /// stack and time than the last (a stack overflow after some thousands).
    private struct Listener {
        let body: @Sendable () -> Void
    }

    private let listener = Mutex<Listener?>(nil)

    /// Sets what to call.
    func listen(_ body: @escaping @Sendable () -> Void) {
        listener.withLock { $0 = Listener(body: body) }
    }

    /// Something suggests the topology changed (any thread).
    func raise() {
        listener.withLock { $0 }?.body()
    }
}
