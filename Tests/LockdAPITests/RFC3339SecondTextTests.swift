import LockdTestSupport
import Testing

@testable import LockdAPI

/// `RFC3339`'s kept text of the last second written (`RFC3339SecondText`)
/// gives what the instant's own working out gives: for instants of one
/// second in a row (served from it), of the next, of far away ones, before
/// the epoch and past year 9999 (never kept), and while several tasks
/// write different seconds at once (a reader overlapping a writer must not
/// take half of one second's text and half of another's).
@Suite struct RFC3339SecondTextTests {
    /// The random instants' seed: fixed, so a failure replays.
    private static let seed: UInt64 = 0x3339_5EC0

    /// The instant formatted through the kept second, and worked out afresh.
    private static func formatted(_ milliseconds: Int64) -> (kept: String, workedOut: String) {
        var kept = [UInt8](repeating: 0, count: RFC3339.maxCount)
        var workedOut = [UInt8](repeating: 0, count: RFC3339.maxCount)
        let keptCount = kept.withUnsafeMutableBufferPointer { RFC3339.write(milliseconds: milliseconds, to: $0.baseAddress!) }
        let workedOutCount = workedOut.withUnsafeMutableBufferPointer {
            RFC3339.writeWorkedOut(milliseconds: milliseconds, to: $0.baseAddress!)
        }
        return (String(decoding: kept.prefix(keptCount), as: UTF8.self), String(decoding: workedOut.prefix(workedOutCount), as: UTF8.self))
    }

    @Test func keptSecondsFormatAsWorkedOut() {
        var generator = SplitMix64(seed: Self.seed)
        let now: Int64 = 1_796_515_200_000  // 2026-12-06T00:00:00Z
        var instants: [Int64] = [0, -1, 999, 1_000, now, now + 1, now + 999, now + 1_000, now - 1, 253_402_300_799_999,
                                 253_402_300_800_000, 253_402_300_799_000, -62_167_219_200_000, -62_167_219_200_001]
        for _ in 0..<20_000 {
            let last = instants.last ?? now
            switch Int.random(in: 0..<4, using: &generator) {
            case 0: instants.append(last + Int64.random(in: 0...999, using: &generator))  // mostly the same second
            case 1: instants.append(last + Int64.random(in: -2_000...2_000, using: &generator))
            case 2: instants.append(Int64.random(in: -100_000_000_000_000...400_000_000_000_000, using: &generator))
            default: instants.append(now + Int64.random(in: 0...86_400_000, using: &generator))
            }
        }
        for instant in instants {
            let (kept, workedOut) = Self.formatted(instant)
            #expect(kept == workedOut, "instant \(instant) (seed \(Self.seed))")
        }
        #expect(Self.formatted(1_796_362_981_073).kept == "2026-12-04T05:43:01.073Z")
        #expect(Self.formatted(1_796_362_981_999).kept == "2026-12-04T05:43:01.999Z")
        #expect(Self.formatted(1_796_362_982_000).kept == "2026-12-04T05:43:02.000Z")
    }

    /// Four tasks, each formatting instants of its own seconds (so each
    /// keeps its second over the others' again and again), all check every text.
    @Test func secondsWrittenAtOnceFormatAsWorkedOut() async {
        let mismatches = await withTaskGroup(of: Int.self) { group in
            for task in 0..<4 {
                group.addTask {
                    var mismatches = 0
                    let base: Int64 = 1_796_515_200_000 + Int64(task) * 3_723_000  // hours, minutes and seconds apart
                    for turn in 0..<20_000 {
                        let instant = base + Int64(turn % 7) * 1_000 + Int64(turn % 1_000)
                        let (kept, workedOut) = Self.formatted(instant)
                        if kept != workedOut { mismatches += 1 }
                    }
                    return mismatches
                }
            }
            return await group.reduce(0, +)
        }
        #expect(mismatches == 0)
    }
}
