import Synchronization

/// Hands each new ``TopologySnapshot`` to every loop's router and to the
/// subscriber, keeps the latest for readers on any thread, and counts what
/// the monitors saw.
final class TopologyPublisher: Sendable {
    let routers: [LoopRouter]
    let subscriber: RoutedSubscriber
    let counters = TopologyCounters()
    private let current: Mutex<TopologySnapshot>

    init(routers: [LoopRouter], subscriber: RoutedSubscriber, initial: TopologySnapshot) {
        self.routers = routers
        self.subscriber = subscriber
        self.current = Mutex(initial)
    }

    /// The latest snapshot.
    var snapshot: TopologySnapshot { current.withLock { $0 } }

    /// Makes `snapshot` current everywhere.
    func publish(_ snapshot: TopologySnapshot) {
        current.withLock { $0 = snapshot }
        for router in routers {
            router.loop.execute { router.apply(snapshot) }
        }
        let subscriber = self.subscriber
        routers[0].loop.execute { subscriber.topologyChanged(snapshot) }
    }
}

/// What the topology monitors saw, for metrics.
final class TopologyCounters: Sendable {
    let refreshes = Atomic<Int>(0)
    let primaryChanges = Atomic<Int>(0)
    let redirects = Atomic<Int>(0)
    let retries = Atomic<Int>(0)

    var statistics: RedisTopologyStatistics {
        RedisTopologyStatistics(
            refreshes: refreshes.load(ordering: .relaxed),
            primaryChanges: primaryChanges.load(ordering: .relaxed),
            redirects: redirects.load(ordering: .relaxed),
            retries: retries.load(ordering: .relaxed))
    }
}

/// Counts of what a Sentinel or Cluster client has seen since it started,
/// for metrics (all zero for a single server).
public struct RedisTopologyStatistics: Sendable, Hashable {
    /// Rounds of asking the sentinels or `CLUSTER SLOTS` that completed.
    public var refreshes: Int
    /// Times a master was replaced: a failover followed, or slots taken over by another master.
    public var primaryChanges: Int
    /// `MOVED` and `ASK` redirections followed.
    public var redirects: Int
    /// Commands sent again after `TRYAGAIN`, `CLUSTERDOWN`, `LOADING`,
    /// `READONLY` or a connection lost before they were written.
    public var retries: Int

    /// Creates statistics.
    public init(refreshes: Int = 0, primaryChanges: Int = 0, redirects: Int = 0, retries: Int = 0) {
        self.refreshes = refreshes
        self.primaryChanges = primaryChanges
        self.redirects = redirects
        self.retries = retries
    }
}
