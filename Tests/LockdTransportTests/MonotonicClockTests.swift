import Glibc
import Testing

@testable import LockdTransport

@Suite struct MonotonicClockTests {
    /// A timer armed late (a lease's first renewal, computed before a busy
    /// loop ran the code that arms it) is due in the past, by less than a
    /// second as often as by more: both are due at once, neither traps.
    @Test(arguments: [Duration.milliseconds(-300), .nanoseconds(-1), .seconds(-2), .milliseconds(-1500), .zero])
    func aDurationInThePastIsZeroNanoseconds(_ duration: Duration) {
        #expect(MonotonicClock.nanoseconds(duration) == 0)
    }

    @Test func aDurationAheadIsItsWholeNanosecondsAndAHugeOneSaturates() {
        #expect(MonotonicClock.nanoseconds(.milliseconds(1500)) == 1_500_000_000)
        #expect(MonotonicClock.nanoseconds(.nanoseconds(7)) == 7)
        #expect(MonotonicClock.nanoseconds(.seconds(Int64.max)) == .max)
    }

    /// A reading is `CLOCK_MONOTONIC`'s seconds and nanoseconds in
    /// nanoseconds: it lies between two readings of clock_gettime taken
    /// around it, and readings never go back.
    @Test func aReadingIsTheMonotonicClockInNanoseconds() {
        func reference() -> UInt64 {
            var spec = timespec()
            clock_gettime(CLOCK_MONOTONIC, &spec)
            return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
        }
        var previous: UInt64 = 0
        for _ in 0..<1_000 {
            let before = reference()
            let reading = MonotonicClock.now()
            let after = reference()
            #expect(before <= reading && reading <= after)
            #expect(reading >= previous)
            previous = reading
        }
    }
}
