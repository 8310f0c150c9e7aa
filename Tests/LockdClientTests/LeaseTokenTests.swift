import Foundation
@testable import LockdClient
import Testing

/// The client's own lease tokens: the shape lockd requires, and base64url of 128 random bits.
@Suite struct LeaseTokenTests {
    @Test func tokensAreBase64URLOf16RandomBytes() throws {
        var seen = Set<String>()
        for _ in 0..<200 {
            let token = LeaseToken.random()
            #expect(token.utf8.count == 22)
            #expect(token.utf8.allSatisfy { $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || ($0 < 128 && Character(Unicode.Scalar($0)).isLetter) || ($0 >= 48 && $0 <= 57) })
            let standard = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/") + "=="
            let bytes = try #require(Data(base64Encoded: standard))
            #expect(bytes.count == 16)
            // Re-encoding the bytes gives the token back: no stray bits in the last character.
            #expect(bytes.base64EncodedString() == standard)
            seen.insert(token)
        }
        #expect(seen.count == 200)
    }
}
