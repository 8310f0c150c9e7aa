import Foundation
@testable import LockdClient
import Testing

/// The fixed-format timestamp reader gives exactly the `Date` the ISO 8601
/// format style gives, and leaves every other form to it.
@Suite struct RFC3339DateTranscoderTests {
    private static let style = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    /// Random instants from 1970 to 2200, dense around 2001 (the reference date,
    /// where the order of the additions shows in the last bit), and the edges of
    /// days, months and leap years.
    private static func timestamps() -> [String] {
        var generator = SystemRandomNumberGenerator()
        var milliseconds: [Int64] = (0..<20_000).map { _ in Int64.random(in: 0..<7_258_118_400_000, using: &generator) }
        milliseconds += (0..<20_000).map { _ in Int64.random(in: 977_000_000_000..<980_000_000_000, using: &generator) }
        milliseconds += [0, 999, 951_782_399_999, 951_782_400_000, 951_868_799_999, 978_307_199_999, 978_307_200_000,
                         978_307_200_001, 4_107_542_399_999, 4_107_542_400_000, 1_796_083_199_999]
        return milliseconds.map { style.format(Date(timeIntervalSince1970: Double($0) / 1000)) }
    }

    @Test func millisecondTimestampsAreTheFormatStylesDates() throws {
        for text in Self.timestamps() {
            let fast = try #require(RFC3339DateTranscoder.millisecondTimestamp(text), "\(text)")
            #expect(fast == (try Self.style.parse(text)), "\(text)")
            #expect(try RFC3339DateTranscoder().decode(text) == fast)
        }
    }

    @Test(arguments: [
        "2026-11-29T03:18:55Z", "2026-11-29T03:18:55.5Z", "2026-11-29T03:18:55.502123Z", "2026-11-29T03:18:55.502+01:00",
        "2026-02-29T03:18:55.502Z", "2026-13-01T03:18:55.502Z", "2026-11-29T24:00:00.000Z", "1969-12-31T23:59:59.999Z",
        "2026-11-29 03:18:55.502Z", "2026-11-29T03:18:55.50xZ", "+026-11-29T03:18:55.502Z", "",
    ])
    func otherFormsAreLeftToTheFormatStyle(text: String) throws {
        #expect(RFC3339DateTranscoder.millisecondTimestamp(text) == nil)
        let expected = (try? Self.style.parse(text)) ?? (try? Date.ISO8601FormatStyle().parse(text))
        #expect((try? RFC3339DateTranscoder().decode(text)) == expected)
    }
}
