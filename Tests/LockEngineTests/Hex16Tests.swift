@testable import LockEngine
import Testing

/// ``hex16(_:then:)`` writes eight digits at a time: every digit value in
/// every position, against the standard library's formatting.
@Suite struct Hex16Tests {
    static func expected(_ number: UInt64, then tail: String = "") -> String {
        let digits = String(number, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits + tail
    }

    @Test func everyDigitInEveryPosition() {
        for position in 0..<16 {
            for digit in UInt64(0)...15 {
                let number = digit << UInt64(4 * position)
                #expect(hex16(number) == Self.expected(number))
                // The same digit among others: no carry from one byte into the next.
                let among = number | (0xFEDC_BA98_7654_3210 & ~(0xF << UInt64(4 * position)))
                #expect(hex16(among) == Self.expected(among))
            }
        }
    }

    @Test func edgesAndTails() {
        for number: UInt64 in [0, 1, 9, 10, 15, 16, 0x9999_9999_9999_9999, 0xAAAA_AAAA_AAAA_AAAA, 0x0123_4567_89AB_CDEF, .max] {
            #expect(hex16(number) == Self.expected(number))
            #expect(hex16(number, then: ":s") == Self.expected(number, then: ":s"))
            #expect(hex16(number, then: ":1000") == Self.expected(number, then: ":1000"))
        }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<1_000 {
            let number = generator.next()
            #expect(hex16(number) == Self.expected(number))
        }
    }

    @Test func waiterIDsAreSixteenDigitsAndTheirTail() {
        let id = WaiterID.random(mode: .shared)
        #expect(id.value.utf8.count == 18)
        #expect(id.value.hasSuffix(":s"))
        #expect(id.value.utf8.prefix(16).allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) })
        #expect(WaiterID.random(limit: 7).limit == 7)
    }
}
