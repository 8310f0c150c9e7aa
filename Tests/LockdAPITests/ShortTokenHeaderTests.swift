import Foundation
import LockdTestSupport
import Testing

/// A `Lock-Token` of 22–31 characters is read into words, as one of 32 is
/// (wip-api33): it releases its lease, and only its exact text does — a
/// prefix of the held token or the held token extended by a character
/// holds nothing (409), and a stray byte at any place is refused (400).
@Suite struct ShortTokenHeaderTests {
    @Test(arguments: StoreKind.allCases)
    func aShortTokenInTheHeaderIsExact(store: StoreKind) async throws {
        try await store.withLockd { lockd in
            let client = try RawHTTPClient(port: UInt16(lockd.url.port ?? 0))
            defer { client.close() }
            let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
            for length in 22...32 {
                let name = uniqueLockName() + "-\(length)"
                let token = String((0..<length).map { alphabet[($0 * 5 + length) % 64] })
                let acquired = try await client.exchange("POST", "/locks/\(name)", body: #"{"ttl_ms":60000,"token":"\#(token)"}"#)
                #expect(acquired.status == 201, "\(length): \(acquired.text)")
                #expect(acquired.text.contains(#""token":"\#(token)""#), "\(length): the grant shows its token")
                var others = [token + "A"]
                if length > 22 { others.append(String(token.dropLast())) }
                for other in others {
                    let wrong = try await client.exchange("DELETE", "/locks/\(name)", headers: ["Lock-Token: \(other)"])
                    #expect(wrong.status == 409, "\(length) against \(other.utf8.count): \(wrong.text)")
                }
                for place in [0, 7, 8, 15, 16, length - 2, length - 1] {
                    for stray in ["=", "+", "/", ".", "~", "{", "@"] {
                        var characters = Array(token)
                        characters[place] = Character(stray)
                        let refused = try await client.exchange("DELETE", "/locks/\(name)", headers: ["Lock-Token: \(String(characters))"])
                        #expect(refused.status == 400, "\(length), \(stray) at \(place): \(refused.text)")
                    }
                }
                let released = try await client.exchange("DELETE", "/locks/\(name)", headers: ["Lock-Token: \(token)"])
                #expect(released.status == 204, "\(length): \(released.text)")
            }
            // 21 characters: too short, in either form.
            let short = String(repeating: "a", count: 21)
            let refused = try await client.exchange("DELETE", "/locks/\(uniqueLockName())", headers: ["Lock-Token: \(short)"])
            #expect(refused.status == 400, "\(refused.text)")
            let bracketed = try await client.exchange("DELETE", "/locks/\(uniqueLockName())", headers: ["Lock-Token: <\(short)>"])
            #expect(bracketed.status == 400, "\(bracketed.text)")
        }
    }
}
