#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
@testable import LockdClient
import Testing

/// review19: ``JSONStringScan/closingQuote(in:from:)`` loads words through a
/// raw pointer, which no bounds check covers even in a debug build. Each
/// string, from every start, is scanned from bytes that end exactly where an
/// inaccessible page begins: one byte read past the end faults.
@Suite struct Review19JSONStringScanGuardPageTests {
    @Test func everyStringFromEveryStartIsScannedWithinItsBytes() throws {
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        let mapped = mmap(nil, 2 * pageSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let base = mapped, base != MAP_FAILED else { Issue.record("mmap failed"); return }
        defer { munmap(base, 2 * pageSize) }
        #expect(mprotect(base + pageSize, pageSize, PROT_NONE) == 0)
        var found = 0
        for length in 0...40 {
            for quoteAt in [nil] + Array(0..<length).map(Optional.some) {
                var bytes = Array(repeating: UInt8(ascii: "a"), count: length)
                if let quoteAt { bytes[quoteAt] = UInt8(ascii: "\"") }
                let start = base + pageSize - length
                bytes.withUnsafeBytes { if let from = $0.baseAddress { start.copyMemory(from: from, byteCount: length) } }
                let buffer = UnsafeBufferPointer(start: start.assumingMemoryBound(to: UInt8.self), count: length)
                for from in 0...length {
                    let expected = quoteAt.flatMap { $0 >= from ? $0 : nil }
                    let result = JSONStringScan.closingQuote(in: buffer, from: from)
                    #expect(result == expected, "\(length) \(String(describing: quoteAt)) \(from)")
                    if result != nil { found += 1 }
                }
            }
        }
        #expect(found > 1_000)
    }
}
