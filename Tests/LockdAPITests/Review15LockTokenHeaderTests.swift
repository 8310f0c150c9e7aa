import Foundation
import LockdTestSupport
import Testing

/// Review 15: the Lock-Token header, read in place by its lower-case name,
/// is found in any case, in RFC 4918's `<token>` form too; its first value
/// counts when it is sent twice; empty, malformed or missing, it is a 400 —
/// on a release answered at once (memory) or promised (Redis), and on a renewal.
@Suite struct Review15LockTokenHeaderTests {
    @Test(arguments: StoreKind.allCases)
    func theLockTokenHeaderIsReadInAnyCaseAndForm(store: StoreKind) async throws {
        try await store.withLockd { lockd in
            let name = uniqueLockName()
            let token = "review15-header-" + String(repeating: "k", count: 16)
            let client = try RawHTTPClient(port: UInt16(lockd.url.port ?? 0))
            defer { client.close() }
            func request(_ method: String, _ path: String, body: String = "", headers: [String] = []) -> String {
                var head = "\(method) \(path) HTTP/1.1\r\nHost: lockd\r\n"
                for header in headers { head += header + "\r\n" }
                return head + "Content-Length: \(body.utf8.count)\r\n\r\n" + body
            }
            let acquire = request("POST", "/locks/\(name)", body: #"{"ttl_ms":60000,"token":"\#(token)"}"#)
            let requests: [(text: String, status: Int)] = [
                (acquire, 201),
                (request("DELETE", "/locks/\(name)", headers: ["lock-token: \(token)"]), 204),
                (acquire, 201),
                (request("POST", "/locks/\(name)/renew", headers: ["lOcK-tOkEn: \(token)"]), 200),
                (request("DELETE", "/locks/\(name)", headers: ["LOCK-TOKEN: <\(token)>"]), 204),
                (acquire, 201),
                // Twice: the first value counts, as it did.
                (request("DELETE", "/locks/\(name)", headers: ["Lock-Token: \(token)", "Lock-Token: not a token"]), 204),
                (acquire, 201),
                (request("DELETE", "/locks/\(name)", headers: ["Lock-Token: not a token", "Lock-Token: \(token)"]), 400),
                (request("DELETE", "/locks/\(name)", headers: ["Lock-Token:"]), 400),
                (request("DELETE", "/locks/\(name)", headers: ["Lock-Token: <>"]), 400),
                (request("DELETE", "/locks/\(name)", headers: ["Lock-Tokens: \(token)"]), 400),
                (request("DELETE", "/locks/\(name)"), 400),
                // Still held after every refusal: the right token releases it.
                (request("DELETE", "/locks/\(name)", headers: ["Lock-Token: \(token)"]), 204),
                (request("DELETE", "/locks/\(name)", headers: ["Lock-Token: \(token)"]), 409),
            ]
            try client.send(requests.map(\.text).joined())
            var answers: [RawHTTPResponse] = []
            for _ in requests { answers.append(try await client.readResponse()) }
            #expect(answers.map(\.status) == requests.map(\.status), "\(answers.map(\.text))")
            #expect(answers[12].text.contains("Lock-Token header is required"), "\(answers[12].text)")
            #expect(answers[9].text.contains("lease token"), "\(answers[9].text)")
        }
    }
}
