import LockdTransport
import Logging
import RESP

/// Keeps a Sentinel client on the current master.
///
/// Runs ``SentinelDiscovery`` rounds on loop 0: at start, every
/// ``RedisConfiguration/topologyRefreshInterval``, every 100 ms while no
/// usable master is known, and at once when a sentinel announces a
/// failover (`+failover-state-reconf-slaves`, `+switch-master`: it listens
/// on every sentinel), a connection to the master breaks, or a command
/// meets `-READONLY` or a timeout. A master found is published
/// to every loop; one that says it is no longer master is dropped, so that
/// commands fail fast (503) rather than reach a replica.
final class SentinelMonitor: TopologyMonitor {
    private let settings: RedisSentinelSettings
    private let factory: ConnectionFactory
    private let publisher: TopologyPublisher
    private let scheduler: RoundScheduler
    private let state: LoopBound<State>
    private var loop: EventLoop { state.loop }

    private struct State {
        var discovery: SentinelDiscovery
        var master: RedisEndpoint?
        /// The new master a `+switch-master` named, to check first next round.
        var announced: RedisEndpoint?
        var queries: [RedisEndpoint: RedisConnection] = [:]
        /// Connections for `ROLE` checks, by candidate master.
        var probes: [RedisEndpoint: RedisConnection] = [:]
        var watchers: [RedisConnection] = []
        var random: SplitMix64
        var nextID: UInt64 = 1 << 62
        var shutDown = false
    }

    init(settings: RedisSentinelSettings, factory: ConnectionFactory, publisher: TopologyPublisher, seed: UInt64) {
        self.settings = settings
        self.factory = factory
        self.publisher = publisher
        let loop = publisher.routers[0].loop
        self.scheduler = RoundScheduler(loop: loop, configuration: factory.configuration)
        self.state = LoopBound(State(
            discovery: SentinelDiscovery(masterName: settings.masterName, sentinels: settings.sentinels),
            random: SplitMix64(seed: seed)), on: loop)
    }

    func start() {
        loop.execute { [self] in
            watchSwitches()
            scheduler.start { [weak self] in self?.round() }
        }
    }

    func suspect(_ error: RedisError) {
        scheduler.prompt()
    }

    func moved(_ redirect: RedisRedirect) {}

    func shutdown() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            loop.execute { [self] in
                state.value.shutDown = true
                scheduler.stop()
                for connection in state.value.queries.values { connection.shutdown() }
                for connection in state.value.probes.values { connection.shutdown() }
                for connection in state.value.watchers { connection.shutdown() }
                continuation.resume()
            }
        }
    }

    // MARK: Rounds (loop thread only)

    private func round() {
        guard !state.value.shutDown else { return }
        let announced = state.value.announced
        state.value.announced = nil
        step(state.value.discovery.begin(announced: announced))
    }

    private func step(_ step: SentinelDiscovery.Step) {
        guard !state.value.shutDown else { return }
        switch step {
        case .ask(let sentinel):
            query(sentinel).send(["SENTINEL", "get-master-addr-by-name", .string(settings.masterName)], id: nextID(), waiter: .callback { [self] result in
                self.step(state.value.discovery.sentinelReplied(result))
            })
        case .checkRole(let candidate):
            probe(candidate).send(["ROLE"], id: nextID(), waiter: .callback { [self] result in
                if case .success(let reply) = result, SentinelDiscovery.role(reply) != "master", candidate == state.value.master {
                    // Demoted (or restarted as a replica): stop sending it commands now.
                    adopt(nil, problem: RedisError(.unreachable, message: "the Redis master \(candidate) became a replica; waiting for the sentinels to name the new one"))
                }
                self.step(state.value.discovery.roleReplied(result))
            })
        case .found(let master):
            publisher.counters.refreshes.add(1, ordering: .relaxed)
            adopt(master, problem: nil)
            closeProbes(except: master)
            scheduler.finished(healthy: true)
        case .gaveUp(let error):
            closeProbes(except: state.value.master)
            publisher.counters.refreshes.add(1, ordering: .relaxed)
            // Sentinels that cannot be asked are no reason to drop a master
            // that works; without one, commands fail with the reason.
            if state.value.master == nil { adopt(nil, problem: error) }
            factory.logger.debug("no Redis master found through the sentinels", metadata: ["redis.error": "\(error.message)"])
            scheduler.finished(healthy: false)
        }
    }

    /// Publishes `master` (nil: none usable) if it differs from what the routers have.
    private func adopt(_ master: RedisEndpoint?, problem: RedisError?) {
        if master != state.value.master {
            if let master {
                if state.value.master != nil { publisher.counters.primaryChanges.add(1, ordering: .relaxed) }
                factory.logger.info("Redis master found through the sentinels", metadata: [
                    "redis.master_name": "\(settings.masterName)", "redis.endpoint": "\(master)",
                ])
            } else {
                factory.logger.warning("no usable Redis master; commands fail until the sentinels name one", metadata: [
                    "redis.master_name": "\(settings.masterName)", "redis.error": "\(problem?.message ?? "")",
                ])
            }
        }
        state.value.master = master
        let current = publisher.snapshot
        guard current.layout != .single(master) || current.problem != problem else { return }
        publisher.publish(TopologySnapshot(layout: .single(master), problem: problem))
    }

    // MARK: Sentinels (loop thread only)

    /// The connection for questions to `sentinel`.
    private func query(_ sentinel: RedisEndpoint) -> RedisConnection {
        if let connection = state.value.queries[sentinel] { return connection }
        let connection = factory.connection(to: sentinel, on: loop, for: .sentinel(settings), seed: state.value.random.next())
        state.value.queries[sentinel] = connection
        return connection
    }

    /// The connection for `ROLE` checks of `candidate`.
    private func probe(_ candidate: RedisEndpoint) -> RedisConnection {
        if let connection = state.value.probes[candidate] { return connection }
        let connection = factory.connection(to: candidate, on: loop, for: .commands, seed: state.value.random.next())
        state.value.probes[candidate] = connection
        return connection
    }

    /// Closes the probes of candidates that are not the master (a dead old
    /// master would otherwise be reconnected to for ever).
    private func closeProbes(except kept: RedisEndpoint?) {
        for (endpoint, connection) in state.value.probes where endpoint != kept {
            connection.shutdown()
            state.value.probes[endpoint] = nil
        }
    }

    /// Subscribes to failover announcements on every sentinel, again after
    /// each reconnect, so that a failover is followed the moment the promoted
    /// replica is confirmed — not only when the sentinels finish reconfiguring
    /// the other replicas, while the old master may still take writes.
    private func watchSwitches() {
        for sentinel in settings.sentinels {
            let connection = factory.connection(to: sentinel, on: loop, for: .sentinelSubscriber(settings), seed: state.value.random.next())
            connection.setHandlers(
                onReady: { [weak self, weak connection] in
                    guard let self, let connection else { return }
                    let channels = SentinelDiscovery.announcements.map(RESPBulk.string)
                    connection.send(["SUBSCRIBE"] + channels, replies: channels.count, id: nextID(), waiter: .callback { _ in })
                },
                onMessage: { [weak self] message, _ in
                    guard let self, SentinelDiscovery.announcesFailover(
                        channel: message.channel, payload: message.string, masterName: settings.masterName) else { return }
                    // The announcing sentinel leads the failover: it names the
                    // promoted replica before the others learn of it.
                    state.value.discovery.prefer(sentinel)
                    if let switched = SentinelDiscovery.switchedMaster(message.string, masterName: settings.masterName) {
                        state.value.announced = switched
                    }
                    scheduler.prompt()
                })
            connection.start()
            state.value.watchers.append(connection)
        }
    }

    private func nextID() -> UInt64 {
        state.value.nextID &+= 1
        return state.value.nextID
    }
}

/// Keeps a client's view of a Sentinel or Cluster deployment current.
protocol TopologyMonitor: AnyObject, Sendable {
    /// Starts the first round and whatever listens for changes.
    func start()
    /// A command met `error`, which may mean the topology changed: look again soon (any thread).
    func suspect(_ error: RedisError)
    /// A `MOVED` reply: record the slot's new master and look again soon (any thread).
    func moved(_ redirect: RedisRedirect)
    /// Stops every round and closes the monitor's own connections.
    func shutdown() async
}
