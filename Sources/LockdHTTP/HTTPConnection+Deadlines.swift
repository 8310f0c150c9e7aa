import LockdTransport

/// A connection's single deadline and the one loop timer that enforces it.
///
/// Moving the deadline later is a store: the timer, when it fires early,
/// re-arms itself for the new deadline. So a busy keep-alive connection pays
/// one clock read per request, not a timer insertion and cancellation.
struct ConnectionDeadlines {
    /// What the connection is waiting for, which decides the timeout and what expiry does.
    enum Reason: Equatable {
        /// No deadline: a responder is producing the response.
        case none
        /// Between requests (idle keep-alive timeout): close quietly.
        case idle
        /// Receiving a request head: 408 and close.
        case head
        /// Receiving a request body: 408 and close.
        case body
        /// A client that does not read its response: close.
        case write
        /// Waiting for the client to close after the final response: close.
        case linger
    }

    var reason = Reason.none
    var deadline = UInt64.max
    var timer: TimerID?
    var timerFiresAt = UInt64.max
}

extension HTTPConnection {
    /// Sets the deadline for `reason`, counted from `start` (now by default).
    func setDeadline(_ reason: ConnectionDeadlines.Reason, from start: UInt64? = nil) {
        deadlines.reason = reason
        let configuration = server.configuration
        let timeout: Duration
        switch reason {
        case .none:
            deadlines.deadline = .max
            return
        case .idle: timeout = configuration.idleTimeout
        case .head: timeout = configuration.headTimeout
        case .body: timeout = configuration.bodyTimeout
        case .write: timeout = configuration.writeTimeout
        case .linger: timeout = HTTPConnection.lingerTimeout
        }
        let now = MonotonicClock.now()
        let deadline = (start ?? now) &+ MonotonicClock.nanoseconds(timeout)
        deadlines.deadline = deadline
        if deadlines.timer == nil || deadline < deadlines.timerFiresAt {
            armTimer(at: deadline, now: now)
        }
    }

    func cancelTimer() {
        if let timer = deadlines.timer { context.loop.cancelTimer(timer) }
        deadlines.timer = nil
        deadlines.timerFiresAt = .max
    }

    private func armTimer(at deadline: UInt64, now: UInt64) {
        cancelTimer()
        deadlines.timerFiresAt = deadline
        let delay = deadline > now ? deadline - now : 0
        deadlines.timer = context.loop.scheduleTimer(after: .nanoseconds(Int64(clamping: delay))) { [self] in
            timerFired()
        }
    }

    private func timerFired() {
        deadlines.timer = nil
        deadlines.timerFiresAt = .max
        guard !isClosed, deadlines.deadline != .max else { return }
        let now = MonotonicClock.now()
        if now >= deadlines.deadline {
            deadlineExpired(deadlines.reason)
        } else {
            armTimer(at: deadlines.deadline, now: now)
        }
    }
}
