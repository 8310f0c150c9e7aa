#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
@testable import RESP
import Testing

/// review19 (wip-redis32): ``RESPRepeatedBytes`` loads a run's words through
/// a raw pointer (unchecked even in a debug build). A run of every length
/// 0...40 placed against an inaccessible page on either side is read within
/// its bytes, taken exactly for 4...32, and stored back as the same bytes
/// (no byte written outside the run's place).
@Suite struct Review19RepeatedBytesGuardPageTests {
    @Test func runsOfEveryLengthAreReadAndWrittenWithinTheirBytes() throws {
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        let mapped = mmap(nil, 3 * pageSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let base = mapped, base != MAP_FAILED else { Issue.record("mmap failed"); return }
        defer { munmap(base, 3 * pageSize) }
        #expect(mprotect(base, pageSize, PROT_NONE) == 0)
        #expect(mprotect(base + 2 * pageSize, pageSize, PROT_NONE) == 0)
        for length in 0...40 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: 0x41 + $0 * 3) }
            for start in [base + 2 * pageSize - length, base + pageSize] {
                bytes.withUnsafeBytes { if let from = $0.baseAddress { start.copyMemory(from: from, byteCount: length) } }
                let run = RESPRepeatedBytes(UnsafeRawBufferPointer(start: start, count: length))
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
