import LockdTransport
import Logging
import RESP

/// Keeps a Cluster client's slot map current.
///
/// Asks `CLUSTER SLOTS` on loop 0 — of the masters it knows first, then of
/// the seeds — at start, every ``RedisConfiguration/topologyRefreshInterval``,
/// every 100 ms while some slot has no reachable master (each round ends by
/// pinging every master), and at once when a connection to a master breaks
/// or a command meets `MOVED`, `CLUSTERDOWN`, `READONLY` or a timeout. A
/// `MOVED` corrects the map for its slot at once.
final class ClusterMonitor: TopologyMonitor {
    private let seeds: [RedisEndpoint]
    private let factory: ConnectionFactory
    private let publisher: TopologyPublisher
    private let scheduler: RoundScheduler
    private let state: LoopBound<State>
    private var loop: EventLoop { state.loop }
    /// Loop 0's router: `CLUSTER SLOTS` goes over its connections.
    private var router: LoopRouter { publisher.routers[0] }

    private struct State {
        var map: ClusterSlotMap?
        var candidates: [RedisEndpoint] = []
        var problems: [RedisError] = []
        var nextID: UInt64 = 1 << 62
        var shutDown = false
    }

    init(seeds: [RedisEndpoint], factory: ConnectionFactory, publisher: TopologyPublisher) {
        self.seeds = seeds
        self.factory = factory
        self.publisher = publisher
        let loop = publisher.routers[0].loop
        self.scheduler = RoundScheduler(loop: loop, configuration: factory.configuration)
        self.state = LoopBound(State(), on: loop)
    }

    func start() {
        loop.execute { [self] in
            scheduler.start { [weak self] in self?.round() }
        }
    }

    func suspect(_ error: RedisError) {
        scheduler.prompt()
    }

    func moved(_ redirect: RedisRedirect) {
        loop.execute { [self] in
            guard !state.value.shutDown, var map = state.value.map, map.primary(for: redirect.slot) != redirect.endpoint else { return }
            map.assign(redirect.slot, to: redirect.endpoint)
            adopt(map)
        }
        scheduler.prompt()
    }

    func shutdown() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            loop.execute { [self] in
                state.value.shutDown = true
                scheduler.stop()
                continuation.resume()
            }
        }
    }

    // MARK: Rounds (loop thread only)

    private func round() {
        guard !state.value.shutDown else { return }
        var candidates = state.value.map?.shards.map(\.primary) ?? []
        for seed in seeds where !candidates.contains(seed) { candidates.append(seed) }
        state.value.candidates = candidates
        state.value.problems = []
        ask(0)
    }

    private func ask(_ index: Int) {
        guard !state.value.shutDown else { return }
        guard index < state.value.candidates.count else { return gaveUp() }
        let node = state.value.candidates[index]
        state.value.nextID &+= 1
        router.node(at: node).connection().send(["CLUSTER", "SLOTS"], id: state.value.nextID, waiter: .callback { [self] result in
            do {
                let map = try ClusterSlotMap(slotsReply: result.get(), from: node)
                guard !map.primaries.isEmpty else {
                    throw RedisError(.unreachable, message: "the node \(node) serves no slots (not part of the cluster yet?)")
                }
                publisher.counters.refreshes.add(1, ordering: .relaxed)
                adopt(map)
                checkPrimaries(of: map)
            } catch {
                state.value.problems.append(Self.explained(error, node: node))
                ask(index + 1)
            }
        })
    }

    /// Ends the round by pinging every master: while one does not answer
    /// (killed, its replica not promoted yet), rounds come every 100 ms, so
    /// that the promotion is seen at once even if no command prompts it.
    private func checkPrimaries(of map: ClusterSlotMap) {
        let primaries = map.shards.map(\.primary)
        guard !primaries.isEmpty else { return scheduler.finished(healthy: false) }
        var remaining = primaries.count
        var healthy = map.coversEverySlot
        for primary in primaries {
            state.value.nextID &+= 1
            router.node(at: primary).connection().send(["PING"], id: state.value.nextID, waiter: .callback { [self] result in
                if case .failure = result { healthy = false }
                remaining -= 1
                if remaining == 0 { scheduler.finished(healthy: healthy) }
            })
        }
    }

    private func gaveUp() {
        let problems = state.value.problems
        // A setting to fix outranks "unreachable": it is what the operator must act on.
        let problem = problems.first { $0.kind == .invalidConfiguration || $0.kind == .authenticationFailed }
            ?? RedisError(.unreachable, message: "no Redis Cluster node answered CLUSTER SLOTS (\(problems.map(\.message).joined(separator: "; ")))")
        factory.logger.debug("Redis Cluster slot map not refreshed", metadata: ["redis.error": "\(problem.message)"])
        if state.value.map == nil {
            publisher.publish(TopologySnapshot(layout: .slots(ClusterSlotMap()), problem: problem))
        }
        scheduler.finished(healthy: false)
    }

    /// Makes `map` current, if it differs from what the routers have.
    private func adopt(_ map: ClusterSlotMap) {
        let previous = state.value.map
        state.value.map = map
        let problem = map.coversEverySlot ? nil : RedisError(.unreachable, message:
            "hash slots \(map.unownedSlots.prefix(3).map { "\($0.lowerBound)-\($0.upperBound)" }.joined(separator: ", ")) have no Redis master")
        if let previous {
            let added = Set(map.shards.map(\.primary)).subtracting(previous.shards.map(\.primary))
            if !added.isEmpty {
                publisher.counters.primaryChanges.add(added.count, ordering: .relaxed)
                factory.logger.info("Redis Cluster has new masters", metadata: ["redis.endpoints": "\(added.sorted().map(\.description))"])
            }
        }
        let current = publisher.snapshot
        guard current.layout != .slots(map) || current.problem != problem else { return }
        publisher.publish(TopologySnapshot(layout: .slots(map), problem: problem))
    }

    /// An answer to `CLUSTER SLOTS` that is no map, worded for the operator.
    private static func explained(_ error: any Error, node: RedisEndpoint) -> RedisError {
        guard let error = error as? RedisError else { return RedisError(.protocolViolation, message: "\(error)") }
        if error.message.contains("cluster support disabled") {
            return RedisError(.invalidConfiguration, message:
                "the Redis at \(node) is not a cluster node; use a redis:// URL for a single server")
        }
        return RedisError(error.kind, code: error.code, message: "\(node): \(error.message)")
    }
}
