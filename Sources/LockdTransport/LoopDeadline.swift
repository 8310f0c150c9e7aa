/// One deadline and the one loop timer that enforces it.
///
/// Moving the deadline later is a store: the timer, when it fires early,
/// re-arms itself for the new deadline. So a busy connection pays one clock
/// read per request, not a timer insertion and cancellation. Loop thread only.
///
/// ```swift
/// if deadline.set(MonotonicClock.now() + timeout) {
///     deadline.arm(on: loop) { [self] in timerFired() }
/// }
/// // in timerFired():
/// guard deadline.expired(now: MonotonicClock.now()) else {
///     return deadline.arm(on: loop) { [self] in timerFired() }   // re-armed for a later deadline
/// }
/// ```
public struct LoopDeadline: Sendable {
    /// When the deadline passes (`MonotonicClock` nanoseconds); `.max` for none.
    public var instant: UInt64 { storedInstant }
    /// ``instant``, settable by the inlined ``set(_:)``.
    @usableFromInline var storedInstant = UInt64.max
    @usableFromInline var timer: TimerID?
    @usableFromInline var timerFiresAt = UInt64.max

    /// No deadline.
    public init() {}

    /// Sets the deadline (`.max` for none).
    /// - Returns: whether the caller must ``arm(on:_:)`` the timer: none is
    ///   armed, or the armed one would fire too late.
    // Inlinable (with ``StreamSocket/setDeadline(_:)``): a store and a compare.
    @inlinable
    public mutating func set(_ instant: UInt64) -> Bool {
        storedInstant = instant
        return instant != .max && (timer == nil || instant < timerFiresAt)
    }

    /// Arms the timer for the current deadline, replacing an armed one.
    public mutating func arm(on loop: EventLoop, _ fire: @escaping @Sendable () -> Void) {
        cancel(on: loop)
        guard instant != .max else { return }
        let now = MonotonicClock.now()
        timerFiresAt = instant
        timer = loop.scheduleTimer(after: .nanoseconds(Int64(clamping: instant > now ? instant - now : 0)), fire)
    }

    /// Called first thing when the timer fires: whether the deadline has
    /// passed (it is then cleared). When false and a deadline is still set,
    /// the caller re-arms with ``arm(on:_:)``.
    public mutating func expired(now: UInt64) -> Bool {
        timer = nil
        timerFiresAt = .max
        guard instant != .max, now >= instant else { return false }
        storedInstant = .max
        return true
    }

    /// Whether a deadline is set but no timer is armed for it (after ``expired(now:)`` said false).
    public var needsArming: Bool { instant != .max && timer == nil }

    /// Whether a timer is armed.
    public var isArmed: Bool { timer != nil }

    /// Cancels the timer; the deadline stays as it is.
    public mutating func cancel(on loop: EventLoop) {
        if let timer { loop.cancelTimer(timer) }
        timer = nil
        timerFiresAt = .max
    }
}
