import LockdTransport

/// Sleeps until `deadline` on `loop`'s own timers, like `Task.sleep(until:)`
/// (throws `CancellationError` when the task is cancelled first), without the
/// global dispatch timer that costs a wake-up of dispatch's manager thread per
/// sleep — the renewal loop of every lease sleeps once, and is usually
/// cancelled by its release.
func sleep(until deadline: ContinuousClock.Instant, on loop: EventLoop) async throws {
    let sleeper = LoopSleeper(loop: loop)
    try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            if loop.inEventLoop {
                sleeper.start(deadline, continuation)
            } else {
                loop.execute { sleeper.start(deadline, continuation) }
            }
        }
    } onCancel: {
        loop.execute { sleeper.cancel() }
    }
}

/// One sleep's state.
private final class LoopSleeper: @unchecked Sendable {
    // Safe to share: every field but `loop` (a constant) is touched only on
    // `loop`'s thread — `start` and `cancel` run there (through `execute`, or
    // inline when already on it), and so does the timer.
    private let loop: EventLoop
    private var continuation: CheckedContinuation<Void, any Error>?
    private var timer: TimerID?
    private var cancelled = false

    init(loop: EventLoop) { self.loop = loop }

    func start(_ deadline: ContinuousClock.Instant, _ continuation: CheckedContinuation<Void, any Error>) {
        guard !cancelled else { return continuation.resume(throwing: CancellationError()) }
        let left = deadline - .now
        guard left > .zero else { return continuation.resume() }
        self.continuation = continuation
        timer = loop.scheduleTimer(after: left) { self.finish(nil) }
    }

    func cancel() {
        cancelled = true
        if let timer { loop.cancelTimer(timer) }
        finish(CancellationError())
    }

    private func finish(_ error: (any Error)?) {
        timer = nil
        guard let continuation else { return }
        self.continuation = nil
        if let error { continuation.resume(throwing: error) } else { continuation.resume() }
    }
}
