import LockdTransport

/// Runs a monitor's discovery rounds on its loop as ``RefreshSchedule``
/// says, with one timer.
final class RoundScheduler: Sendable {
    private let loop: EventLoop
    private let state: LoopBound<State>

    private struct State {
        var schedule: RefreshSchedule
        var timer: (id: TimerID, due: UInt64)?
        var round: (() -> Void)?
        var stopped = false
    }

    init(loop: EventLoop, configuration: RedisConfiguration) {
        self.loop = loop
        let schedule = RefreshSchedule(
            interval: MonotonicClock.nanoseconds(configuration.topologyRefreshInterval),
            // While something is wrong, look often enough that a promotion is
            // noticed well within a second even without other prompts.
            retryInterval: 100_000_000,
            minimumGap: 50_000_000)
        self.state = LoopBound(State(schedule: schedule), on: loop)
    }

    /// Sets the round and runs the first one now (loop thread only).
    func start(_ round: @escaping () -> Void) {
        state.value.round = round
        arm(at: MonotonicClock.now())
    }

    /// Something suggests the topology changed: run a round soon (any thread).
    func prompt() {
        loop.execute { [self] in
            guard !state.value.stopped, let due = state.value.schedule.prompted(now: MonotonicClock.now()) else { return }
            arm(at: due)
        }
    }

    /// The round ended (loop thread only).
    func finished(healthy: Bool) {
        guard !state.value.stopped else { return }
        arm(at: state.value.schedule.finished(now: MonotonicClock.now(), healthy: healthy), replacing: true)
    }

    /// No more rounds (loop thread only).
    func stop() {
        state.value.stopped = true
        if let timer = state.value.timer { loop.cancelTimer(timer.id) }
        state.value.timer = nil
    }

    /// Keeps the one timer at the earliest due time asked for.
    private func arm(at due: UInt64, replacing: Bool = false) {
        if let timer = state.value.timer {
            if !replacing, timer.due <= due { return }
            loop.cancelTimer(timer.id)
        }
        let now = MonotonicClock.now()
        let id = loop.scheduleTimer(after: .nanoseconds(Int64(clamping: due > now ? due - now : 0))) { [weak self] in
            guard let self, !state.value.stopped else { return }
            state.value.timer = nil
            guard !state.value.schedule.isRunning else { return }
            state.value.schedule.started(now: MonotonicClock.now())
            state.value.round?()
        }
        state.value.timer = (id, due)
    }
}
