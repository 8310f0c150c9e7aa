@testable import LockdClient
import LockdGuardPages
import Testing

/// review19: ``JSONStringScan/closingQuote(in:from:)`` loads words through a
/// raw pointer, which no bounds check covers even in a debug build. Each
/// string, from every start, is scanned from bytes that end exactly where an
/// inaccessible page begins: one byte read past the end faults.
@Suite struct Review19JSONStringScanGuardPageTests {
    @Test func everyStringFromEveryStartIsScannedWithinItsBytes() throws {
        let pages = try GuardedPages()
        var found = 0
        for length in 0...40 {
            for quoteAt in [nil] + Array(0..<length).map(Optional.some) {
                var bytes = Array(repeating: UInt8(ascii: "a"), count: length)
                if let quoteAt { bytes[quoteAt] = UInt8(ascii: "\"") }
                let buffer = pages.endingAtGuard(bytes).asBytes
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
