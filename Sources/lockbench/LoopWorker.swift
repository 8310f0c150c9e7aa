import LockbenchCore
import LockdTransport

/// The clients one event loop drives, and what they measured.
///
/// The main task talks to a worker through its three async methods
/// (`connectAll`, `begin`, `stop`); everything else runs on the loop's thread.
final class LoopWorker: @unchecked Sendable {
    // Safe to share: the `let`s never change; every `var` is read and written
    // only on `loop`'s thread — the async entry points hop there with
    // `loop.execute` before touching state, and the connections and timers
    // that call the other methods run on that thread too.

    private enum State { case idle, connecting, running, stopping }

    /// The loop whose thread runs these clients.
    let loop: EventLoop
    /// The server's address.
    let address: SocketAddress
    /// TLS for an https:// target; nil for plain HTTP.
    let tls: StreamSocket.TLS?
    /// The run's names.
    let plan: NamePlan
    /// Encodes the run's requests.
    let requests: LockRequests
    /// Shared handoff bookkeeping; nil for uncontended runs.
    let handoffs: HandoffBook?
    /// Counters the progress line reads while the run goes on.
    let live: LiveCounters
    private let clientIDs: [Int]
    private let requestTimeout: UInt64

    private var state = State.idle
    private var connections: [BenchConnection] = []
    private var pendingConnects = 0
    private var connectFailures: [String] = []
    private var finished: Set<ObjectIdentifier> = []
    private var connectContinuation: CheckedContinuation<[String], Never>?
    private var stopContinuation: CheckedContinuation<RunStats, Never>?
    private var stats = RunStats()
    private var deadline = UInt64.max
    private var nameCache: [String]
    private var acquireCache: [[UInt8]]

    /// A worker for the clients numbered `clientIDs`.
    init(loop: EventLoop, address: SocketAddress, tls: StreamSocket.TLS?, plan: NamePlan, requests: LockRequests, waitMs: Int,
         clientIDs: [Int], handoffs: HandoffBook?, live: LiveCounters) {
        self.loop = loop
        self.address = address
        self.tls = tls
        self.plan = plan
        self.requests = requests
        self.clientIDs = clientIDs
        self.handoffs = handoffs
        self.live = live
        self.requestTimeout = UInt64(waitMs + 10_000) * 1_000_000
        nameCache = Array(repeating: "", count: plan.count)
        acquireCache = Array(repeating: [], count: plan.count)
    }

    /// Whether the run is over and connections are winding down.
    var isStopping: Bool { state == .stopping }

    /// The lock name with index `index` (built once per worker).
    func name(_ index: Int) -> String {
        if nameCache[index].isEmpty { nameCache[index] = plan.name(at: index) }
        return nameCache[index]
    }

    /// The acquire request for name `index` (encoded once per worker).
    func acquireRequest(_ index: Int) -> [UInt8] {
        if acquireCache[index].isEmpty { acquireCache[index] = requests.acquire(name: name(index)) }
        return acquireCache[index]
    }

    // MARK: Entry points for the main task

    /// Opens every client's connection; returns why some failed (empty when all opened).
    func connectAll() async -> [String] {
        await withCheckedContinuation { continuation in
            loop.execute {
                self.state = .connecting
                self.connectContinuation = continuation
                self.connections = self.clientIDs.map {
                    BenchConnection(worker: self, client: $0, names: self.plan.indices(forClient: $0))
                }
                self.pendingConnects = self.connections.count
                self.connections.forEach { $0.connect() }
                self.resumeIfConnected()
            }
        }
    }

    /// Starts the cycles; responses read after `deadline` are not measured.
    func begin(deadline: UInt64) {
        loop.execute {
            self.state = .running
            self.deadline = deadline
            self.connections.forEach { $0.startCycle() }
            self.scheduleTimeoutSweep()
        }
    }

    /// Ends the run: lets cycles in flight finish (so no lease is left
    /// behind) for up to `drainTime`, closes everything, and returns the stats.
    func stop(drainTime: Duration = .seconds(3)) async -> RunStats {
        await withCheckedContinuation { continuation in
            loop.execute {
                self.state = .stopping
                self.stopContinuation = continuation
                for connection in self.connections where connection.requestSentAt == nil && connection.isOpen {
                    connection.close()
                    self.connectionFinished(connection)
                }
                self.resumeIfFinished()
                self.loop.scheduleTimer(after: drainTime) {
                    self.connections.forEach { $0.close() }
                    self.finished = Set(self.connections.map(ObjectIdentifier.init))
                    self.resumeIfFinished()
                }
            }
        }
    }

    // MARK: Connection events

    /// A connection opened: counted while connecting, put to work while running.
    func connectionReady(_ connection: BenchConnection) {
        switch state {
        case .idle, .connecting:
            pendingConnects -= 1
            resumeIfConnected()
        case .running:
            connection.startCycle()
        case .stopping:
            connection.close()
            connectionFinished(connection)
        }
    }

    /// A connection could not be opened: fatal before the run, retried during it.
    func connectionFailed(_ connection: BenchConnection, reason: String) {
        switch state {
        case .idle, .connecting:
            connectFailures.append(reason)
            pendingConnects -= 1
            resumeIfConnected()
        case .running:
            count(\.connect)
            scheduleReconnect(connection)
        case .stopping:
            connectionFinished(connection)
        }
    }

    /// A connection broke or the server closed it: reopened unless the run is over.
    func connectionDropped(_ connection: BenchConnection) {
        if state == .stopping { connectionFinished(connection) } else { scheduleReconnect(connection) }
    }

    /// A connection is done for this run; the last one ends `stop()`.
    func connectionFinished(_ connection: BenchConnection) {
        finished.insert(ObjectIdentifier(connection))
        resumeIfFinished()
    }

    private func scheduleReconnect(_ connection: BenchConnection) {
        // A pause, so a server that refuses connections is not spun against.
        loop.scheduleTimer(after: .milliseconds(100)) {
            if self.state == .running { connection.connect() } else { self.connectionFinished(connection) }
        }
    }

    private func scheduleTimeoutSweep() {
        loop.scheduleTimer(after: .seconds(1)) {
            guard self.state == .running else { return }
            let now = MonotonicClock.now()
            for connection in self.connections {
                if let sentAt = connection.requestSentAt, now &- sentAt > self.requestTimeout {
                    connection.drop(\.timeout)
                }
            }
            self.scheduleTimeoutSweep()
        }
    }

    private func resumeIfConnected() {
        guard pendingConnects == 0, let continuation = connectContinuation else { return }
        connectContinuation = nil
        continuation.resume(returning: connectFailures)
    }

    private func resumeIfFinished() {
        guard finished.count == connections.count, let continuation = stopContinuation else { return }
        stopContinuation = nil
        continuation.resume(returning: stats)
    }

    // MARK: Measurements (only inside the window)

    /// Counts an acquire's answer and its latency (nanoseconds).
    func recordAcquire(status: Int, latency: UInt64, at now: UInt64) {
        guard now <= deadline, state == .running else { return }
        stats.acquire.count(status, successes: 200...201)
        _ = stats.acquireLatency.record(latency)
        if status != 201 && status != 200 { live.failures.add(1, ordering: .relaxed) }
    }

    /// Counts a release's answer and its latency; a `204` completes a cycle.
    func recordRelease(status: Int, latency: UInt64, at now: UInt64) {
        guard now <= deadline, state == .running else { return }
        stats.release.count(status, successes: 204...204)
        _ = stats.releaseLatency.record(latency)
        if status == 204 {
            stats.cycles += 1
            live.cycles.add(1, ordering: .relaxed)
        } else {
            live.failures.add(1, ordering: .relaxed)
        }
    }

    /// Tells the handoff book about a grant and records the handoff it ends, if any.
    func granted(name: Int, at now: UInt64, acquireSentAt sentAt: UInt64) {
        guard let sample = handoffs?.granted(name: name, at: now, acquireSentAt: sentAt) else { return }
        if now <= deadline, state == .running { _ = stats.handoffLatency.record(sample) }
    }

    /// Tells the handoff book about a release (records a reordered handoff, if any).
    func released(name: Int, at now: UInt64) {
        guard let sample = handoffs?.released(name: name, at: now) else { return }
        if now <= deadline, state == .running { _ = stats.handoffLatency.record(sample) }
    }

    /// Counts one transport or protocol error.
    func count(_ error: WritableKeyPath<ErrorCounts, Int>) {
        guard state == .running else { return }
        stats.errors[keyPath: error] += 1
        live.failures.add(1, ordering: .relaxed)
    }
}
