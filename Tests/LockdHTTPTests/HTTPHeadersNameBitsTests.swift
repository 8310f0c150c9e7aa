import LockdTestSupport
import Testing

@testable import LockdHTTP

/// ``HTTPHeaders`` keeps one bit per field name (its length and first
/// letter) and answers a lookup of a name whose bit is clear without walking
/// the fields. Checked against a plain walk: names of every length up to 70
/// with first bytes of every kind, looked up in every case, on fields
/// decoded, added, removed and reused through the spare — a bit that
/// differed between a name's cases, or stayed from a request before, would
/// answer differently.
@Suite struct HTTPHeadersNameBitsTests {
    /// The first value of `name` (ASCII case-insensitive) found by walking every field.
    static func walked(_ headers: HTTPHeaders, _ name: String) -> String? {
        var found: String?
        headers.forEachField { fieldName, value in
            guard fieldName.count == name.utf8.count,
                  zip(fieldName, name.utf8).allSatisfy({ HTTPSyntax.lowercased($0) == HTTPSyntax.lowercased($1) })
            else { return true }
            found = String(decoding: value, as: UTF8.self)
            return false
        }
        return found
    }

    static func randomName(_ random: inout SplitMix64) -> String {
        let firsts = Array("aAcCtTxXzZ09-!~_".utf8)
        let rest = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_".utf8)
        let length = 1 + Int(random.next() % 70)
        var bytes = [firsts[Int(random.next() % UInt64(firsts.count))]]
        while bytes.count < length { bytes.append(rest[Int(random.next() % UInt64(rest.count))]) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `name` with each letter's case flipped at random.
    static func recased(_ name: String, _ random: inout SplitMix64) -> String {
        String(decoding: name.utf8.map { byte in
            HTTPSyntax.lowercased(byte) != byte || (0x61...0x7A).contains(byte) ? (random.next() % 2 == 0 ? byte ^ 0x20 : byte) : byte
        }, as: UTF8.self)
    }

    static func expectLookups(_ headers: HTTPHeaders, _ names: [String], _ random: inout SplitMix64, _ context: String) {
        for name in names {
            for asked in [name, name.lowercased(), name.uppercased(), recased(name, &random)] {
                let expected = walked(headers, asked)
                #expect(headers[asked] == expected, "\(context): \(asked)")
                #expect(headers.contains(asked) == (expected != nil), "\(context): \(asked)")
            }
        }
    }

    @Test func lookupsAnswerAsAWalkOfTheFields() {
        var random = SplitMix64(seed: 0xB175)
        var spare = SpareRequestStorage()
        for round in 0..<300 {
            let names = (0..<Int(random.next() % 8)).map { _ in Self.randomName(&random) }
            let others = (0..<6).map { _ in Self.randomName(&random) }
            var head = "GET / HTTP/1.1\r\nHost: h\r\n"
            for (index, name) in names.enumerated() { head += "\(Self.recased(name, &random)): v\(index)\r\n" }
            head += "\r\n"
            var decoder = HTTPRequestDecoder(limits: HTTPRequestLimits())
            decoder.adoptStorage(from: &spare)
            var consumed = 0
            let event = Array(head.utf8).withUnsafeBytes { decoder.decode($0, consumed: &consumed) }
            guard case .request(var request, _) = event else {
                Issue.record("round \(round): no request from \(head)")
                return
            }
            Self.expectLookups(request.headers, names + others + ["Host", "Content-Encoding", "X-Request-Id", "traceparent"], &random, "decoded \(round)")

            var added = HTTPHeaders()
            for name in names { added.add(name: Self.recased(name, &random), value: "a") }
            Self.expectLookups(added, names + others, &random, "added \(round)")
            if let removed = names.randomElement(using: &random) {
                added.remove(Self.recased(removed, &random))
                #expect(!added.contains(removed), "round \(round)")
                Self.expectLookups(added, names + others, &random, "removed \(round)")
            }
            // The storage goes round: the next request starts with none of these names.
            spare.recycle(&request)
        }
    }

    @Test func storageKeptForTheNextRequestForgetsItsNames() {
        var headers: HTTPHeaders = ["Content-Encoding": "gzip", "X-Request-Id": "r1"]
        #expect(headers.contains("content-encoding") && headers["x-request-id"] == "r1")
        headers.removeAllKeepingStorage()
        #expect(!headers.contains("Content-Encoding") && headers["X-Request-Id"] == nil)
        headers.add(name: "x-request-id", value: "r2")
        #expect(headers["X-REQUEST-ID"] == "r2" && !headers.contains("Content-Encoding"))
    }

    /// The two fields every request is searched for, in any case, among others
    /// of the same lengths (`Content-Type` is as long as `X-Request-Id`).
    @Test func tracingFieldsAndContentEncodingAreFoundInAnyCase() {
        let traceParent = "00-0af7651916cd43dd8448eb211cf0a1bb-b7ad6b7169203331-01"
        for (idName, traceName, codingName) in [("X-Request-Id", "traceparent", "Content-Encoding"), ("x-request-id", "TRACEPARENT", "content-encoding"),
                                                ("X-REQUEST-ID", "TraceParent", "CONTENT-ENCODING")] {
            let request = HTTPRequest(method: .post, path: "/", headers: [
                "Content-Type": "application/json", "Lock-Token": "t", idName: "abc", traceName: traceParent, codingName: "gzip",
            ])
            let (id, trace) = request.tracingFields()
            #expect(id?.description == "abc" && trace == traceParent)
            #expect(request.hasContentEncoding)
        }
        let plain = HTTPRequest(method: .post, path: "/", headers: ["Content-Type": "application/json", "Content-Length": "2", "Host": "h"])
        let (id, trace) = plain.tracingFields()
        #expect(id == nil && trace == nil && !plain.hasContentEncoding)
    }
}
