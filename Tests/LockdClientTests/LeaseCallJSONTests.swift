import Foundation
@testable import LockdClient
import OpenAPIRuntime
import Testing

/// The cycle's hand-written JSON gives exactly what `JSONEncoder` and
/// `JSONDecoder` give, or nothing (then they are used).
@Suite struct LeaseCallJSONTests {
    private static let transcoder = RFC3339DateTranscoder()

    /// The SDK's encoding options (compact, keys sorted).
    private static let options = LockClient.configuration.jsonEncodingOptions

    /// The generated client's encoder, as OpenAPIRuntime's converter configures it for the SDK.
    private static func encoded(_ request: Components.Schemas.AcquireRequest) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return [UInt8](try encoder.encode(request))
    }

    @Test func theSDKSendsCompactJSONWithSortedKeys() {
        #expect(Self.options == [.sortedKeys])
        let body = LeaseCallJSON.body(.init(ttlMs: 30_000, waitMs: 0, owner: "billing 7", token: "abc"), options: Self.options)
        #expect(body.map { String(decoding: $0, as: UTF8.self) } == #"{"owner":"billing 7","token":"abc","ttl_ms":30000,"wait_ms":0}"#)
    }

    /// A string from characters JSONEncoder writes as they are and ones it escapes
    /// (quotes, backslashes, slashes, controls) or that the fast path leaves to it (non-ASCII, DEL).
    private static func randomString(using generator: inout some RandomNumberGenerator) -> String {
        let plain = Array("abcXYZ019 -_.:~+=@!#$%&*()[]{}<>,;?'`^|")
        let unusual: [Character] = ["\"", "\\", "/", "\n", "\t", "\u{0}", "\u{1F}", "\u{7F}", "ü", "é", "😀", "\u{2028}"]
        let count = Int.random(in: 0...24, using: &generator)
        let unusualShare = [0, 0, 0, 1, 5].randomElement(using: &generator)!  // mostly plain strings
        return String((0..<count).map { _ in
            Int.random(in: 0..<100, using: &generator) < unusualShare
                ? unusual.randomElement(using: &generator)! : plain.randomElement(using: &generator)!
        })
    }

    /// What the direct calls send (the fast path's bytes, or JSONEncoder's when it declines)
    /// is JSONEncoder's, byte for byte; the fast path declines only the empty object and
    /// strings it would escape or that are not ASCII.
    @Test func acquireBodiesAreJSONEncodersByteForByte() throws {
        var generator = SystemRandomNumberGenerator()
        let fixedStrings: [String?] = [nil, "", "worker-7", "a b:c.d_e~f", "OdopvwD5PnHzOx1AHaAxr9nA-rRz1iP4", "a/b", "say \"hi\""]
        let integers: [Int?] = [nil, 0, 1, 30_000, -5, Int.max, Int.min]
        func string() -> String? {
            Bool.random(using: &generator) ? fixedStrings.randomElement(using: &generator)! : Self.randomString(using: &generator)
        }
        var fastPaths = 0
        for _ in 0..<5_000 {
            let request = Components.Schemas.AcquireRequest(
                ttlMs: integers.randomElement(using: &generator)!,
                waitMs: integers.randomElement(using: &generator)!,
                owner: string(),
                token: string(),
                limit: integers.randomElement(using: &generator)!,
                mode: [nil, .exclusive, .shared].randomElement(using: &generator)!,
                durability: [nil, .primary, .replicated].randomElement(using: &generator)!,
                lockDelayMs: integers.randomElement(using: &generator)!
            )
            let expected = try Self.encoded(request)
            let fast = LeaseCallJSON.body(request, options: Self.options)
            #expect((fast ?? expected) == expected, "\(request)")
            let strings = [request.owner, request.token].compactMap { $0 }
            let plain = strings.allSatisfy { $0.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") && $0 != UInt8(ascii: "/") } }
            #expect((fast != nil) == (plain && request != Components.Schemas.AcquireRequest()), "\(request)")
            if fast != nil { fastPaths += 1 }
        }
        #expect(fastPaths > 1_000)  // the fast path itself was compared, not only the fallback
    }

    @Test(arguments: ["worker \"7\"", "a/b", "back\\slash", "tab\there", "ünïcødé", "del\u{7F}"])
    func stringsJSONEncoderWouldEscapeAreLeftToIt(owner: String) {
        #expect(LeaseCallJSON.body(.init(ttlMs: 1, owner: owner), options: Self.options) == nil)
    }

    @Test func otherEncoderOptionsAreLeftToJSONEncoder() {
        #expect(LeaseCallJSON.body(.init(ttlMs: 1), options: [.sortedKeys, .prettyPrinted]) == nil)
        #expect(LeaseCallJSON.body(.init(ttlMs: 1), options: []) == nil)
        #expect(LeaseCallJSON.body(.init(ttlMs: 1), options: [.sortedKeys, .withoutEscapingSlashes]) == nil)
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
