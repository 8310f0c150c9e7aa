import Foundation
import LockdTestSupport
import Testing

/// A client's token of 33–128 characters (a UUID with dashes, Python's
/// `secrets.token_urlsafe()`) is kept as its bytes, not a `String`
/// (wip-api34): acquired with it, the grant shows it, and a `Lock-Token` of
/// exactly its text, plain or `<…>`, releases it; its prefix or its
/// extension by a character holds nothing (409), a stray byte anywhere is
/// refused (400), and 129 characters are no token (400). Each release is
/// answered 204 with the same fields and no body, one release after another
/// (the in-memory store's 204 is one shared response).
@Suite struct LongTokenHeaderTests {
    /// The names of a response's fields, and each value but the ones that
    /// change from one answer to the next.
    private static func fixedFields(_ response: RawHTTPResponse) -> [String] {
        response.headers.map { name, value in
            ["date", "x-request-id"].contains(name.lowercased()) ? name : "\(name): \(value)"
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aLongTokenInTheHeaderIsExact(store: StoreKind) async throws {
        try await store.withLockd { lockd in
            let client = try RawHTTPClient(port: UInt16(lockd.url.port ?? 0))
            defer { client.close() }
            let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
            var releases: [RawHTTPResponse] = []
            for (index, length) in [33, 36, 40, 43, 64, 127, 128].enumerated() {
                let name = uniqueLockName() + "-\(length)"
                let token = String((0..<length).map { alphabet[($0 * 5 + length) % 64] })
                let acquired = try await client.exchange("POST", "/locks/\(name)", body: #"{"ttl_ms":60000,"token":"\#(token)"}"#)
                #expect(acquired.status == 201, "\(length): \(acquired.text)")
                #expect(acquired.text.contains(#""token":"\#(token)""#), "\(length): the grant shows its token")
                // Asked again with its token: the same lease, retry-safe.
                let again = try await client.exchange("POST", "/locks/\(name)", body: #"{"ttl_ms":60000,"token":"\#(token)"}"#)
                #expect(again.status == 201 || again.status == 200, "\(length): \(again.text)")
                #expect(again.text.contains(#""token":"\#(token)""#), "\(length): \(again.text)")
                var others = [String(token.dropLast()), String(token.dropLast()) + (token.last == "A" ? "B" : "A")]
                if length < 128 { others.append(token + "A") }
                for other in others {
                    let wrong = try await client.exchange("DELETE", "/locks/\(name)", headers: ["Lock-Token: \(other)"])
                    #expect(wrong.status == 409, "\(length) against \(other.utf8.count): \(wrong.text)")
                }
                for place in [0, 8, 16, 31, 32, length - 9, length - 1] {
                    for stray in ["=", "+", "/", ".", "~"] {
                        var characters = Array(token)
                        characters[place] = Character(stray)
                        let refused = try await client.exchange("DELETE", "/locks/\(name)", headers: ["Lock-Token: \(String(characters))"])
                        #expect(refused.status == 400, "\(length), \(stray) at \(place): \(refused.text)")
                    }
                }
                let header = index.isMultiple(of: 2) ? token : "<\(token)>"
                let released = try await client.exchange("DELETE", "/locks/\(name)", headers: ["Lock-Token: \(header)"])
                #expect(released.status == 204, "\(length): \(released.text)")
                #expect(released.body.isEmpty)
                releases.append(released)
                let gone = try await client.exchange("DELETE", "/locks/\(name)", headers: ["Lock-Token: \(token)"])
                #expect(gone.status == 409, "\(length), released twice: \(gone.text)")
            }
            // Every 204 has the same fields.
            let first = try #require(releases.first)
            for released in releases.dropFirst() {
                #expect(Self.fixedFields(released) == Self.fixedFields(first))
            }
            // 129 characters: too long, in either form.
            let long = String(repeating: "a", count: 129)
            let refused = try await client.exchange("DELETE", "/locks/\(uniqueLockName())", headers: ["Lock-Token: \(long)"])
            #expect(refused.status == 400, "\(refused.text)")
            let bracketed = try await client.exchange("DELETE", "/locks/\(uniqueLockName())", headers: ["Lock-Token: <\(long)>"])
            #expect(bracketed.status == 400, "\(bracketed.text)")
        }
    }
}
