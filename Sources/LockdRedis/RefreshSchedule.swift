/// When a topology monitor looks at the deployment again, as a value: at
/// once when something prompts it (but rounds at least `minimumGap` apart),
/// every `retryInterval` while the last round found things unwell, and every
/// `interval` regardless. Prompts during a round run one more round after it.
struct RefreshSchedule {
    let interval: UInt64
    let retryInterval: UInt64
    let minimumGap: UInt64
    /// Whether a round is running.
    private(set) var isRunning = false
    private var lastStart: UInt64?
    private var promptedDuringRound = false

    /// - Parameters are nanoseconds.
    init(interval: UInt64, retryInterval: UInt64, minimumGap: UInt64) {
        self.interval = interval
        self.retryInterval = retryInterval
        self.minimumGap = minimumGap
    }

    /// Something suggests the topology changed: when the next round should
    /// start, or nil when one is running (another follows it).
    mutating func prompted(now: UInt64) -> UInt64? {
        if isRunning {
            promptedDuringRound = true
            return nil
        }
        return earliestStart(now: now)
    }

    /// A round starts.
    mutating func started(now: UInt64) {
        isRunning = true
        promptedDuringRound = false
        lastStart = now
    }

    /// The round ended; `healthy` says whether it found a usable master for
    /// everything. Returns when the next one is due.
    mutating func finished(now: UInt64, healthy: Bool) -> UInt64 {
        isRunning = false
        if promptedDuringRound { return earliestStart(now: now) }
        return now &+ (healthy ? interval : retryInterval)
    }

    private func earliestStart(now: UInt64) -> UInt64 {
        guard let lastStart else { return now }
        return max(now, lastStart &+ minimumGap)
    }
}
