import LockdTransport
import Testing

/// A timer's delay in nanoseconds: a time already past (as a deadline
/// computed as `due - .now` is on a busy machine) is no delay, whether it
/// passed by more than a second or by less — `Duration`'s components then
/// are a zero second and negative attoseconds.
@Suite struct MonotonicClockTests {
    @Test(arguments: [Duration.milliseconds(-500), .nanoseconds(-1), .milliseconds(-1_500), .seconds(-60)])
    func aDurationAlreadyPastIsNoDelay(duration: Duration) {
        #expect(MonotonicClock.nanoseconds(duration) == 0)
    }

    @Test func aDurationAheadIsItsWholeNanoseconds() {
        #expect(MonotonicClock.nanoseconds(.milliseconds(1_500)) == 1_500_000_000)
        #expect(MonotonicClock.nanoseconds(.nanoseconds(1)) == 1)
        #expect(MonotonicClock.nanoseconds(.seconds(Int64.max)) == .max)
    }
}
