import Foundation
import LockdTestSupport
import Testing

/// review16: a token keeps its text (32 characters as words, other lengths
/// as a string — wip-api29). A client's token of every length the API
/// takes is retry-safe (201, then 200 with the same fence), renewed and
/// released through `Lock-Token` (plain and `<token>`), and only its exact
/// text does: a token differing in one letter's case, one of a length
/// out of range, or 32 bytes that are not all token characters, is refused.
@Suite struct Review16TokenLengthTests {
    private static func fence(_ text: String) -> Int? {
        guard let range = text.range(of: #""fence":"#) else { return nil }
        return Int(text[range.upperBound...].prefix { $0.isNumber })
    }

    @Test(arguments: StoreKind.allCases)
    func clientTokensOfEveryLengthAreRetrySafeAndExact(store: StoreKind) async throws {
        try await store.withLockd { lockd in
            let client = try RawHTTPClient(port: UInt16(lockd.url.port ?? 0))
            defer { client.close() }
            let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
            for length in [22, 31, 32, 33, 64, 128] {
                let name = uniqueLockName() + "-\(length)"
                let token = "q" + String((1..<length).map { alphabet[($0 * 7 + length) % 64] })
                let first = try await client.exchange("POST", "/locks/\(name)", body: #"{"ttl_ms":60000,"token":"\#(token)"}"#)
                #expect(first.status == 201, "\(length): \(first.text)")
                let again = try await client.exchange("POST", "/locks/\(name)", body: #"{"ttl_ms":30000,"token":"\#(token)"}"#)
                #expect(again.status == 200, "\(length): \(again.text)")
                #expect(Self.fence(first.text) != nil && Self.fence(first.text) == Self.fence(again.text), "\(length): \(first.text) / \(again.text)")
                #expect(again.text.contains(#""ttl_ms":30000"#), "\(length): \(again.text)")
                #expect(first.text.contains(token), "\(length): the grant shows its token")
                // One letter's case changed: another token, which holds nothing.
                let other = "Q" + token.dropFirst()
                let wrong = try await client.exchange("DELETE", "/locks/\(name)", headers: ["Lock-Token: \(other)"])
                #expect(wrong.status == 409, "\(length): \(wrong.text)")
                let renewed = try await client.exchange("POST", "/locks/\(name)/renew", headers: ["Lock-Token: <\(token)>"])
                #expect(renewed.status == 200, "\(length): \(renewed.text)")
                #expect(Self.fence(renewed.text) == Self.fence(first.text))
                let released = try await client.exchange("DELETE", "/locks/\(name)", headers: ["Lock-Token: \(token)"])
                #expect(released.status == 204, "\(length): \(released.text)")
                let gone = try await client.exchange("DELETE", "/locks/\(name)", headers: ["Lock-Token: \(token)"])
                #expect(gone.status == 409, "\(length): \(gone.text)")
            }
            // Refused: lengths out of range, 32 bytes with a byte beyond ASCII or a
            // character outside the alphabet (at its first, a middle and its last place).
            let name = uniqueLockName() + "-refused"
            let valid = String(repeating: "a", count: 32)
            var refused = [String(repeating: "a", count: 21), String(repeating: "a", count: 129), String(repeating: "a", count: 30) + "é"]
            for place in [0, 13, 31] {
                for character in ["=", "+", "/", ".", "~", "`", "{", "@", "[", "\u{7F}"] {
                    var characters = Array(valid)
                    characters[place] = Character(character)
                    refused.append(String(characters))
                }
            }
            for token in refused {
                let answer = try await client.exchange("POST", "/locks/\(name)", body: #"{"ttl_ms":60000,"token":"\#(token)"}"#)
                #expect(answer.status == 400, "\(Array(token.utf8)): \(answer.text)")
                // In a header, printable ASCII only (a control byte or one beyond ASCII is the decoder's to refuse).
                guard token.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else { continue }
                let release = try await client.exchange("DELETE", "/locks/\(name)", headers: ["Lock-Token: \(token)"])
                #expect(release.status == 400, "\(Array(token.utf8)): \(release.text)")
            }
        }
    }
}
