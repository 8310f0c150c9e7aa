/// What an event loop knows, while it handles one batch of events, of
/// hang-ups it has not handled: the batch reported one (possibly for a socket
/// whose event comes later in the batch), or it was full (more events wait
/// unread), or it began too long ago — a peer's FIN that came since is known
/// to the kernel only. Otherwise the batch's events are the kernel's word on
/// every socket of the loop: one that hung up before the batch began is in it
/// (epoll is level-triggered, and every stream watches `EPOLLRDHUP`), so a
/// look at a socket (``Socket/peerHasClosed()``, a `poll`) could find only a
/// FIN come within the last ``freshness``. A look narrows that window to the
/// moment of the look (a FIN just after it is missed all the same); the
/// wider window is the price of not looking before every answer.
struct HangUpWindow {
    /// How long a batch stands for the sockets' state (ns): 100 µs, the time
    /// of a few requests answered in place, so most of a batch's answers
    /// need no `poll`; a smaller window costs more polls, a larger one lets a
    /// FIN come unseen for longer. See CPU.md (benchmarks/locks) for the
    /// share of grants that still look.
    static let freshness: UInt64 = 100_000

    /// The clock reading taken as the batch's `epoll_wait` returned (0 before the first).
    private(set) var startedAt: UInt64 = 0
    /// The batch reported a hang-up or filled its buffer; true before the
    /// first batch, when nothing is known.
    private var flagged = true

    /// A batch of `count` events began at `now`: their flags are the first
    /// `count` of `events`, whose size is the most one wait returns.
    mutating func began(at now: UInt64, count: Int, events: [UInt32]) {
        events.withUnsafeBufferPointer { began(at: now, count: count, events: $0) }
    }

    /// ``began(at:count:events:)`` over the loop's own buffer of flags.
    @inline(__always)
    mutating func began(at now: UInt64, count: Int, events: UnsafeBufferPointer<UInt32>) {
        startedAt = now
        guard count < events.count else {
            flagged = true
            return
        }
        var seen: UInt32 = 0
        for index in 0..<count { seen |= events[index] }
        flagged = seen & Self.hangUps != 0
    }

    /// Whether a hang-up may have come that the loop has not handled, at
    /// `now` (a clock reading taken in the batch).
    func mayHideHangUp(at now: UInt64) -> Bool {
        flagged || now &- startedAt > Self.freshness
    }

    private static let hangUps = EpollEvents([.readHangup, .hangup, .error]).rawValue
}
