import Foundation
import LockEngine
import LockdHTTP
import Testing

@testable import LockdAPI

/// The byte writers behind every JSON body: escaping, numbers and instants
/// exactly as RFC 8259 and RFC 3339 want them.
@Suite struct JSONWriterTests {
    private func quoted(_ text: String) -> String {
        var bytes: [UInt8] = []
        JSONString.append(text, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    @Test func stringsAreEscapedByteForByte() {
        #expect(quoted("plain") == #""plain""#)
        #expect(quoted("") == #""""#)
        #expect(quoted(#"a"b\c"#) == #""a\"b\\c""#)
        #expect(quoted("line\nfeed\r\ttab") == #""line\nfeed\r\ttab""#)
        #expect(quoted("\u{0}\u{1}\u{1f}") == #""\u0000\u0001\u001f""#)
        #expect(quoted("zürich ✓ 🔒\"") == "\"zürich ✓ 🔒\\\"\"")
        var text = "prefix "
        JSONString.append("é\n", to: &text)
        #expect(text == "prefix \"é\\n\"")
    }

    @Test func integersAreWrittenInDecimal() {
        // Every width, at and beside each power of ten (the width is counted
        // apart from the digits, which go two at a time).
        var powers: [Int64] = []
        var power: Int64 = 1
        for _ in 0...18 {
            powers += [power - 1, power, power + 1, -power, -(power - 1)]
            if power <= Int64.max / 10 { power *= 10 }
        }
        for value: Int64 in [0, 7, 10, 999, -1, -42, 1_796_362_981_073_002, .max, .min, .max - 1, .min + 1] + powers {
            var bytes: [UInt8] = []
            ASCIIDigits.append(value, to: &bytes)
            #expect(String(decoding: bytes, as: UTF8.self) == String(value))
        }
        // Every bit width (the digit count is guessed from the highest bit),
        // with random low bits, and random values of every size.
        var generator = SystemRandomNumberGenerator()
        var values: [Int64] = []
        for bits in 1...63 {
            let high = Int64(1) << (bits - 1)
            values += [high, high | Int64.random(in: 0..<high, using: &generator), -high, (high - 1) | high]
        }
        values += (0..<2_000).map { _ in Int64.random(in: .min ... .max, using: &generator) >> Int64.random(in: 0...63, using: &generator) }
        for value in values {
            var bytes: [UInt8] = []
            ASCIIDigits.append(value, to: &bytes)
            #expect(String(decoding: bytes, as: UTF8.self) == String(value))
            #expect(ASCIIDigits.digitCount(value.magnitude) == String(value.magnitude).count)
        }
    }

    @Test func instantsAreRFC3339WithMilliseconds() {
        #expect(RFC3339.format(milliseconds: 0) == "1970-01-01T00:00:00.000Z")
        #expect(RFC3339.format(milliseconds: 1_796_362_981_073) == "2026-12-04T05:43:01.073Z")
        #expect(RFC3339.format(milliseconds: 951_782_400_999) == "2000-02-29T00:00:00.999Z")
        #expect(RFC3339.format(milliseconds: 1_234_567_890_123) == "2009-02-13T23:31:30.123Z")
        #expect(RFC3339.format(milliseconds: 1_000_000_000_050) == "2001-09-09T01:46:40.050Z")
        #expect(RFC3339.format(milliseconds: -1) == "1969-12-31T23:59:59.999Z")
        // Years are padded to four digits, and written whole past 9999.
        #expect(RFC3339.format(milliseconds: -62_135_596_800_000) == "0001-01-01T00:00:00.000Z")
        #expect(RFC3339.format(milliseconds: 253_402_300_799_999) == "9999-12-31T23:59:59.999Z")
        #expect(RFC3339.format(milliseconds: 253_402_300_800_000) == "10000-01-01T00:00:00.000Z")
    }

    @Test func aLeaseIsOneCompactObject() throws {
        let lease = Lease(name: try LockName("orders:42"), token: try LeaseToken("a-client-chosen-token-0001"), fence: 9,
                          ttlMs: 500, expiresAtMs: 3_000, owner: "worker \"7\"", mode: .exclusive, limit: 1)
        #expect(String(decoding: LockJSON.lease(lease), as: UTF8.self) == """
            {"name":"orders:42","token":"a-client-chosen-token-0001","fence":9,"ttl_ms":500,\
            "expires_at":"1970-01-01T00:00:03.000Z","owner":"worker \\"7\\"","mode":"exclusive","limit":1}
            """)
        let holders = [Holder(owner: nil, fence: 8, expiresAtMs: 2_000, remainingMs: 1_900, mode: .shared)]
        #expect(String(decoding: LockJSON.holders(holders), as: UTF8.self) == """
            [{"mode":"shared","fence":8,"expires_at":"1970-01-01T00:00:02.000Z","ttl_ms":1900}]
            """)
        #expect(String(decoding: LockJSON.holders([]), as: UTF8.self) == "[]")
    }

    /// The lease's writer copies its keys as literals; `JSONWriter`, field
    /// by field, is the reference it must match byte for byte.
    @Test func aLeaseIsWhatTheFieldWriterWrites() throws {
        func reference(_ lease: Lease) -> [UInt8] {
            var json = JSONWriter()
            json.field("name", lease.name.value)
            json.field("token", lease.token.value)
            json.field("fence", lease.fence)
            json.field("ttl_ms", lease.ttlMs)
            json.instant("expires_at", milliseconds: lease.expiresAtMs)
            if let owner = lease.owner { json.field("owner", owner) }
            json.field("mode", lease.mode.rawValue)
            json.field("limit", Int64(lease.limit))
            return json.finish()
        }
        let tokens = [LeaseToken.random(), try LeaseToken("a-client-chosen-token-0001"), try LeaseToken(String(repeating: "t", count: 128))]
        let names = [try LockName("a"), try LockName("orders:4711"), try LockName(String(repeating: "n.", count: 127) + "n")]
        let owners: [String?] = [nil, "", "worker 7", "tab\there \"quoted\" \u{1}", "naïve ✓"]
        var compared = 0
        for token in tokens {
            for name in names {
                for owner in owners {
                    for (fence, ttlMs, expiresAtMs) in [(Int64(1), Int64(1_000), Int64(0)), (.max, .min, -1), (1_733_400_000_000_001, 30_000, 1_733_400_030_000)] {
                        for (mode, limit) in [(LockMode.exclusive, 1), (.exclusive, 1_000), (.shared, 1), (.shared, .max)] {
                            let lease = Lease(name: name, token: token, fence: fence, ttlMs: ttlMs, expiresAtMs: expiresAtMs, owner: owner,
                                              mode: mode, limit: limit)
                            #expect(LockJSON.lease(lease) == reference(lease), "\(name) \(owner ?? "-") \(fence) \(mode) \(limit)")
                            compared += 1
                        }
                    }
                }
            }
        }
        #expect(compared == 3 * 3 * 5 * 3 * 4)
    }

    @Test func aLeaseAtItsLongestFitsTheSpaceMadeForIt() throws {
        let owner = String(repeating: "\u{1}\"", count: 100)
        let lease = Lease(name: try LockName(String(repeating: "n", count: 255)), token: try LeaseToken(String(repeating: "t", count: 128)),
                          fence: .max, ttlMs: .min, expiresAtMs: 253_402_300_800_000_000, owner: owner, mode: .shared, limit: .max)
        let json = LockJSON.lease(lease)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json)) as? [String: Any])
        #expect(object["owner"] as? String == owner)
        #expect(object["fence"] as? Int64 == .max)
        #expect(object["mode"] as? String == "shared")
        #expect(String(decoding: json, as: UTF8.self).contains(#""ttl_ms":-9223372036854775808,"#))
        let unowned = Lease(name: try LockName("a"), token: try LeaseToken("a-client-chosen-token-0001"), fence: 1, ttlMs: 1,
                            expiresAtMs: 0, owner: nil, mode: .exclusive, limit: 1)
        #expect(String(decoding: LockJSON.lease(unowned), as: UTF8.self) == """
            {"name":"a","token":"a-client-chosen-token-0001","fence":1,"ttl_ms":1,\
            "expires_at":"1970-01-01T00:00:00.000Z","mode":"exclusive","limit":1}
            """)
    }

    /// Each write checks the space left, so a space counted too small traps
    /// (the lease's space is on the stack) instead of being written past;
    /// writes that fit exactly do not.
    @Test func aCursorNeverWritesPastItsSpace() async {
        func written(_ count: Int, _ write: (inout JSONCursor) -> Void) -> String {
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: count) { space in
                guard let base = space.baseAddress else { return "" }
                var cursor = JSONCursor(base, end: base + count)
                write(&cursor)
                return String(decoding: UnsafeBufferPointer(start: base, count: cursor.position - base), as: UTF8.self)
            }
        }
        #expect(written(7) { $0.key("name", first: true) } == #""name":"#)
        #expect(written(ASCIIDigits.maxCount) { $0.integer(.min) } == "-9223372036854775808")
        #expect(written(JSONCursor.instantMaxCount) { $0.instant(milliseconds: 0) } == #""1970-01-01T00:00:00.000Z""#)
        await #expect(processExitsWith: .failure) {
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 8) { space in
                guard let base = space.baseAddress else { return }
                var cursor = JSONCursor(base, end: base + 6)
                cursor.key("name", first: true)  // 7 bytes
            }
        }
        await #expect(processExitsWith: .failure) {
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 16) { space in
                guard let base = space.baseAddress else { return }
                var cursor = JSONCursor(base, end: base + 8)
                var text = "\u{1}\u{1}"  // 2 bytes; quoted and escaped, 14
                text.withUTF8 { cursor.string($0, escapedExtra: JSONCursor.escapedExtra($0)) }
            }
        }
        await #expect(processExitsWith: .failure) {
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { space in
                guard let base = space.baseAddress else { return }
                var cursor = JSONCursor(base, end: base + ASCIIDigits.maxCount - 1)
                cursor.integer(1)
            }
        }
    }

    @Test func aWriterGrowsPastItsCapacityFieldByField() {
        var json = JSONWriter(capacity: 2)
        json.field("text", "a\tb")
        json.field("count", Int64(-12))
        json.field("yes", true)
        json.null("none")
        json.instant("at", milliseconds: 1_000)
        json.raw("list", Array("[1,2]".utf8))
        json.field("long", String(repeating: "x", count: 500))
        #expect(String(decoding: json.finish(), as: UTF8.self) == """
            {"text":"a\\tb","count":-12,"yes":true,"none":null,"at":"1970-01-01T00:00:01.000Z","list":[1,2],\
            "long":"\(String(repeating: "x", count: 500))"}
            """)
        var empty = JSONWriter()
        #expect(empty.bytes == Array("{}".utf8))
        #expect(empty.finish() == Array("{}".utf8))
    }
}
