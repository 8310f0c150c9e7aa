import Testing

@testable import LockdHTTP

/// The request line's fast paths — `HTTP/1.1` compared as one word, a
/// common method taken as a token without its bytes checked — must decide
/// exactly as the full parse: the same version, method and refusals.
@Suite struct RequestLineFastPathTests {
    @Test func theVersionWordIsHTTP11AsLoadedFromMemory() {
        let loaded = Array("HTTP/1.1".utf8).withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        #expect(loaded == PartialHead.http11Word)
    }

    @Test func versionsNearHTTP11DecodeAsTheFullParseSays() {
        // One byte changed at each position, and the case of the letters.
        var versions = ["HTTP/1.1", "HTTP/1.0", "HTTP/1.9", "HTTP/2.0", "http/1.1", "HTTP/1.1 ", "HTTP/11", "HTTP/1.a"]
        for position in 0..<8 {
            var bytes = Array("HTTP/1.1".utf8)
            bytes[position] ^= 0x01
            versions.append(String(decoding: bytes, as: UTF8.self))
        }
        for version in versions {
            let events = DecodingHarness.decode("GET / \(version)\r\nHost: x\r\n\r\n")
            let expected = Array(version.utf8).withUnsafeBytes { PartialHead.parseVersion($0) }
            switch expected {
            case .success(let parsed):
                guard case .request(_, _, _, let decoded, _, _, _)? = events.first else {
                    Issue.record("\(version): \(events)")
                    continue
                }
                #expect(decoded == parsed.description, "\(version)")
            case .failure(let error):
                #expect(events == [.failure(status: error.status.code, type: error.type)], "\(version)")
            }
        }
    }

    @Test func commonMethodsAreTheSharedConstantsAndOthersAreCheckedAsTokens() {
        for method in ["GET", "PUT", "POST", "HEAD", "PATCH", "DELETE", "OPTIONS", "PURGE", "get", "GETS", "M-SEARCH"] {
            let events = DecodingHarness.decode("\(method) / HTTP/1.1\r\nHost: x\r\n\r\n")
            guard case .request(let decoded, _, _, _, _, _, _)? = events.first else {
                Issue.record("\(method): \(events)")
                continue
            }
            #expect(decoded == method)
        }
        for method in ["GE\u{7F}T", "GE(T", "G\"T", "PO,ST"] {
            let events = DecodingHarness.decode("\(method) / HTTP/1.1\r\nHost: x\r\n\r\n")
            guard case .failure(let status, _)? = events.first else {
                Issue.record("\(method): \(events)")
                continue
            }
            #expect(status == 400 && events.count == 1, "\(method): \(events)")
        }
    }
}
