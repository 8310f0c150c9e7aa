import Testing

@testable import LockdHTTP

/// A head's numbers (status code, `Content-Length`, a made request id's
/// counter) are written from digits gathered in one register: checked
/// against the standard library's formatting at every length and edge.
@Suite struct HeadSinkNumberTests {
    /// Every power of ten and sixteen, one below and one above, the
    /// register path's limits and the extremes, and a spread of others.
    private static let values: [UInt64] = {
        var values: Set<UInt64> = [0, 1, 9, 10, 15, 16, 99_999_999, 100_000_000, 0xFFFF_FFFF, 0x1_0000_0000, UInt64.max, UInt64.max - 1]
        var ten: UInt64 = 1
        for _ in 0..<20 {
            values.formUnion([ten &- 1, ten, ten &+ 1])
            ten = ten.multipliedReportingOverflow(by: 10).partialValue
        }
        for shift in 0..<64 { values.formUnion([(1 << UInt64(shift)) &- 1, 1 << UInt64(shift), (1 << UInt64(shift)) &+ 1]) }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2_000 { values.insert(generator.next() >> UInt64.random(in: 0..<64)) }
        return values.sorted()
    }()

    private static func written(_ write: (inout BoundedWriter) -> Void) -> String {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 128) { space in
            var writer = BoundedWriter(start: space.baseAddress!, capacity: space.count)
            write(&writer)
            #expect(!writer.overflowed)
            return String(decoding: UnsafeBufferPointer(rebasing: space[..<writer.count]), as: UTF8.self)
        }
    }

    @Test func decimalMatchesTheStandardLibrary() {
        for value in Self.values {
            #expect(Self.written { $0.decimal(value) } == String(value), "\(value)")
            var counter = ByteCounter()
            counter.decimal(value)
            #expect(counter.count == String(value).utf8.count)
        }
    }

    @Test func hexMatchesTheStandardLibrary() {
        for value in Self.values {
            #expect(Self.written { $0.hex(value) } == String(value, radix: 16), "\(value)")
            var counter = ByteCounter()
            counter.hex(value)
            #expect(counter.count == String(value, radix: 16).utf8.count)
        }
    }

    /// A made id's prefix is kept in two words up to 16 bytes and as a
    /// `String` past that: every length either side writes, describes and
    /// compares as the prefix and the number in hex.
    @Test func madeIdsOfEveryPrefixLengthWriteTheirDescription() {
        let prefixes = (0...40).map { String(repeating: "ab3-", count: 10).prefix($0) }.map(String.init) + ["é-", "€€€€€-", "9f3c01aa-"]
        for prefix in prefixes {
            for number: UInt64 in [0, 0x1f, 0xdead_beef, .max] {
                let id = HTTPRequestID(prefix: prefix, number: number)
                let expected = prefix + String(number, radix: 16)
                #expect(id.description == expected)
                #expect(Self.written { id.write(to: &$0) } == expected)
                var counter = ByteCounter()
                id.write(to: &counter)
                #expect(counter.count == expected.utf8.count)
                #expect(id == HTTPRequestID(prefix: prefix, number: number))
                #expect(id != HTTPRequestID(prefix: prefix, number: number &+ 1))
                #expect(id != HTTPRequestID(prefix: prefix + "x", number: number))
            }
        }
    }
}
