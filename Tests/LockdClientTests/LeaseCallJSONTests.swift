import Foundation
@testable import LockdClient
import OpenAPIRuntime
import Testing

/// The cycle's hand-written JSON gives exactly what `JSONEncoder` and
/// `JSONDecoder` give, or nothing (then they are used).
@Suite struct LeaseCallJSONTests {
    private static let transcoder = RFC3339DateTranscoder()

    /// The generated client's encoder, as OpenAPIRuntime configures it by default.
    private static func encoded(_ request: Components.Schemas.AcquireRequest) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        return [UInt8](try encoder.encode(request))
    }

    @Test func acquireBodiesAreJSONEncodersByteForByte() throws {
        var generator = SystemRandomNumberGenerator()
        let strings: [String?] = [nil, "", "worker-7", "a b:c.d_e~f", "OdopvwD5PnHzOx1AHaAxr9nA-rRz1iP4"]
        let integers: [Int?] = [nil, 0, 1, 30_000, -5, Int.max, Int.min]
        for _ in 0..<500 {
            let request = Components.Schemas.AcquireRequest(
                ttlMs: integers.randomElement(using: &generator)!,
                waitMs: integers.randomElement(using: &generator)!,
                owner: strings.randomElement(using: &generator)!,
                token: strings.randomElement(using: &generator)!,
                limit: integers.randomElement(using: &generator)!,
                mode: [nil, .exclusive, .shared].randomElement(using: &generator)!,
                durability: [nil, .primary, .replicated].randomElement(using: &generator)!
            )
            let fast = LeaseCallJSON.body(request, options: [.sortedKeys, .prettyPrinted])
            if request == Components.Schemas.AcquireRequest() {
                #expect(fast == nil)  // the empty object is left to JSONEncoder
            } else {
                #expect(fast == (try Self.encoded(request)), "\(request)")
            }
        }
    }

    @Test(arguments: ["worker \"7\"", "a/b", "back\\slash", "tab\there", "ünïcødé", "del\u{7F}"])
    func stringsJSONEncoderWouldEscapeAreLeftToIt(owner: String) {
        #expect(LeaseCallJSON.body(.init(ttlMs: 1, owner: owner), options: [.sortedKeys, .prettyPrinted]) == nil)
    }

    @Test func otherEncoderOptionsAreLeftToJSONEncoder() {
        #expect(LeaseCallJSON.body(.init(ttlMs: 1), options: [.sortedKeys]) == nil)
        #expect(LeaseCallJSON.body(.init(ttlMs: 1), options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]) == nil)
    }

    private static func decoded(_ text: String) -> Components.Schemas.Lease? {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            try transcoder.decode(try decoder.singleValueContainer().decode(String.self))
        }
        return try? decoder.decode(Components.Schemas.Lease.self, from: Data(text.utf8))
    }

    /// lockd's own answers (both stores write them alike), and the same with spacing.
    private static let plainLeases = [
        #"{"name":"abc","token":"OdopvwD5PnHzOx1AHaAxr9nA-rRz1iP4","fence":1796391246057077,"ttl_ms":30000,"expires_at":"2026-12-04T13:34:36.057Z","owner":"me","mode":"exclusive","limit":1}"#,
        #"{"name":"abc","token":"Gf_M2cverJvRy2kvMLi1E3WciJOvvQvA","fence":1796391246066374,"ttl_ms":30000,"expires_at":"2026-12-04T13:34:36.066Z","mode":"exclusive","limit":1}"#,
        #"{"name":"q:1","token":"t","fence":-3,"ttl_ms":100,"expires_at":"2026-12-04T13:34:36Z","owner":null,"mode":"shared","limit":7}"#,
        " {\n  \"limit\" : 1, \"mode\" : \"exclusive\",\r\n\t\"expires_at\":\"2026-12-04T13:34:36.999Z\" ,\"ttl_ms\":0,\"fence\":0,\"token\":\"x\",\"name\":\"ünï\" } \n",
    ]

    @Test(arguments: plainLeases)
    func plainLeasesAreReadAsJSONDecoderReadsThem(text: String) throws {
        let expected = try #require(Self.decoded(text))
        #expect(LeaseCallJSON.lease(Array(text.utf8), dates: Self.transcoder) == expected)
    }

    /// Anything else is left to JSONDecoder: it may read it (escapes, unknown members,
    /// numbers written otherwise) or refuse it.
    @Test(arguments: [
        #"{"name":"a\"b","token":"t","fence":1,"ttl_ms":1,"expires_at":"2026-12-04T13:34:36Z","mode":"shared","limit":1}"#,
        #"{"name":"a","token":"t","fence":1,"ttl_ms":1,"expires_at":"2026-12-04T13:34:36Z","mode":"shared","limit":1,"extra":true}"#,
        #"{"name":"a","token":"t","fence":1.0,"ttl_ms":1,"expires_at":"2026-12-04T13:34:36Z","mode":"shared","limit":1}"#,
        #"{"name":"a","token":"t","fence":1e3,"ttl_ms":1,"expires_at":"2026-12-04T13:34:36Z","mode":"shared","limit":1}"#,
        #"{"name":"a","token":"t","fence":01,"ttl_ms":1,"expires_at":"2026-12-04T13:34:36Z","mode":"shared","limit":1}"#,
        #"{"name":"a","token":"t","fence":99999999999999999999,"ttl_ms":1,"expires_at":"2026-12-04T13:34:36Z","mode":"shared","limit":1}"#,
        #"{"name":"a","name":"b","token":"t","fence":1,"ttl_ms":1,"expires_at":"2026-12-04T13:34:36Z","mode":"shared","limit":1}"#,
        #"{"name":"a","token":"t","fence":1,"ttl_ms":1,"expires_at":"yesterday","mode":"shared","limit":1}"#,
        #"{"name":"a","token":"t","fence":1,"ttl_ms":1,"expires_at":"2026-12-04T13:34:36Z","mode":"solo","limit":1}"#,
        #"{"name":"a","token":"t","fence":1,"ttl_ms":1,"expires_at":"2026-12-04T13:34:36Z","mode":"shared"}"#,
        #"{"name":"a","token":"t","fence":1,"ttl_ms":1,"expires_at":"2026-12-04T13:34:36Z","mode":"shared","limit":1} x"#,
        #"{"name":"a","token":"t","fence":1,"ttl_ms":1,"expires_at":"2026-12-04T13:34:36Z","mode":"shared","limit":1,}"#,
        #"{"name":"a" "token":"t","fence":1,"ttl_ms":1,"expires_at":"2026-12-04T13:34:36Z","mode":"shared","limit":1}"#,
        #"{"name":"a","token":"t","fence":1,"ttl_ms":1,"expires_at":"2026-12-04T13:34:36Z","mode":"shared","limit":1"#,
        #"[]"#, "", "nul",
    ])
    func otherShapesAreLeftToJSONDecoder(text: String) {
        #expect(LeaseCallJSON.lease(Array(text.utf8), dates: Self.transcoder) == nil)
    }

    /// A body that ends right after a member's comma is refused without being
    /// read past its end (`nextKey` reads the next key's quote unchecked).
    @Test func aBodyEndingAfterACommaIsNotReadPastItsEnd() async {
        await #expect(processExitsWith: .success) {
            for text in [#"{"name":"a","#, #"{"fence":1,"#, #"{"name":"a", "#] {
                _ = LeaseCallJSON.lease(Array(text.utf8), dates: RFC3339DateTranscoder())
            }
        }
    }

    @Test func invalidUTF8IsLeftToJSONDecoder() {
        var bytes = Array(Self.plainLeases[1].utf8)
        bytes[10] = 0xFF  // inside the name's string
        #expect(LeaseCallJSON.lease(bytes, dates: Self.transcoder) == nil)
    }
}
