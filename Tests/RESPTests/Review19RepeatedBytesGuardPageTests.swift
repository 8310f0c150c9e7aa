import LockdGuardPages
@testable import RESP
import Testing

/// review19 (wip-redis32): ``RESPRepeatedBytes`` loads a run's words through
/// a raw pointer (unchecked even in a debug build). A run of every length
/// 0...40 placed against an inaccessible page on either side is read within
/// its bytes, taken exactly for 4...32, and stored back as the same bytes
/// (no byte written outside the run's place).
@Suite struct Review19RepeatedBytesGuardPageTests {
    @Test func runsOfEveryLengthAreReadAndWrittenWithinTheirBytes() throws {
        let pages = try GuardedPages()
        for length in 0...40 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: 0x41 + $0 * 3) }
            for againstTheEnd in [true, false] {
                let run = RESPRepeatedBytes(againstTheEnd ? pages.endingAtGuard(bytes) : pages.startingAtGuard(bytes))
                #expect((run != nil) == (4...32).contains(length), "length \(length)")
                guard let run else { continue }
                // Written into a buffer with guard bytes around it.
                var target = [UInt8](repeating: 0xEE, count: length + 16)
                target.withUnsafeMutableBufferPointer { buffer in
                    var position = buffer.baseAddress! + 8
                    run.store(to: &position)
                    #expect(position == buffer.baseAddress! + 8 + length)
                }
                #expect(Array(target[8..<(8 + length)]) == bytes, "length \(length)")
                #expect(target[..<8].allSatisfy { $0 == 0xEE } && target[(8 + length)...].allSatisfy { $0 == 0xEE }, "length \(length)")
            }
        }
    }
}
