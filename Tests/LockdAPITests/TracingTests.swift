import LockdTestSupport
import Foundation
import Testing

@testable import LockdAPI

/// Requests are traceable: `X-Request-Id` (the client's, or a new one) comes
/// back on every response and is in every log line about the request, with
/// the client's `traceparent`; `--access-log` writes one line per request.
@Suite struct TracingTests {
    static let traceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

    @Test func aClientsRequestIdComesBackAndIsInTheRequestsLogLines() async throws {
        try await StoreKind.memory.withLockd { lockd in
            let id = "client-\(UUID().uuidString)"
            let response = try await lockd.send("POST", "/locks/\(uniqueLockName())", headers: [
                "X-Request-Id": id, "traceparent": Self.traceParent,
            ])
            #expect(response.status == 201)
            #expect(response.header("X-Request-Id") == id)
            let lines = lockd.logs.all.filter { $0.contains(id) }
            #expect(lines.contains { $0.contains("lease granted") }, "no log line of the request carries its id: \(lockd.logs.all)")
            #expect(lines.allSatisfy { $0.contains(Self.traceParent) }, "\(lines)")
        }
    }

    @Test func everyResponseCarriesAnIdAndUnusableOnesAreReplaced() async throws {
        try await StoreKind.memory.withLockd { lockd in
            let name = uniqueLockName()
            let first = try #require(try await lockd.send("GET", "/locks/\(name)").header("X-Request-Id"))
            let second = try #require(try await lockd.send("GET", "/locks/\(name)").header("X-Request-Id"))
            #expect(!first.isEmpty && first != second)
            for unusable in [String(repeating: "x", count: 129), "has space", #"quo"te"#] {
                let answered = try await lockd.send("GET", "/locks/\(name)", headers: ["X-Request-Id": unusable]).header("X-Request-Id")
                #expect(answered != nil && answered != unusable, "\(unusable) was echoed")
            }
            // Not routed, and not even read: each still gets an id.
            #expect(try await lockd.send("GET", "/nowhere").header("X-Request-Id") != nil)
            #expect(try await lockd.send("PUT", "/locks/\(name)").header("X-Request-Id") != nil)
            let client = try await offThePool { [port = UInt16(lockd.url.port ?? 0)] in try RawHTTPClient(port: port) }
            defer { client.close() }
            try client.send("GARBAGE\r\n\r\n")
            let malformed = try await client.readResponse()
            #expect(malformed.status == 400)
            #expect(malformed.header("X-Request-Id") != nil)
        }
    }

    @Test func theAccessLogWritesOneLinePerRequestAndNeverAToken() async throws {
        // At warning, only the access log's lines (written at info) get through.
        try await StoreKind.memory.withLockd(logLevel: .warning, configure: { $0.accessLog = true }) { lockd in
            let name = uniqueLockName()
            let lease = try await lockd.send("POST", "/locks/\(name)", body: #"{"ttl_ms":60000}"#, headers: ["X-Request-Id": "acq-1"])
            let token = try #require(lease.json["token"] as? String)
            _ = try await lockd.send("POST", "/locks/\(name)/renew", headers: ["Lock-Token": token])
            _ = try await lockd.send("DELETE", "/locks/\(name)", headers: ["Lock-Token": token])
            _ = try await lockd.send("GET", "/nowhere")
            let lines = try #require(await Self.accessLines(lockd, count: 4))
            #expect(lines.count == 4, "\(lines)")
            for (line, (route, method, status)) in zip(lines, [("acquire", "POST", 201), ("renew", "POST", 200), ("release", "DELETE", 204), ("none", "GET", 404)]) {
                for field in [#""http.route": \#(route)"#, #""http.method": \#(method)"#, #""http.status": \#(status)"#, #""duration_ms": "#, #""request.id": "#] {
                    #expect(line.contains(field), "\(field) is not in \(line)")
                }
            }
            #expect(lines[0].contains(#""request.id": acq-1"#))
            #expect(!lockd.logs.all.contains { $0.contains(token) }, "a log line carries the lease token")
        }
    }

    @Test func withoutTheAccessLogNoRequestLinesAreWritten() async throws {
        try await StoreKind.memory.withLockd(logLevel: .trace) { lockd in
            _ = try await lockd.send("POST", "/locks/\(uniqueLockName())")
            _ = try await lockd.send("GET", "/nowhere")
            #expect(!lockd.logs.all.contains { $0.hasPrefix("info request ") })
        }
    }

    /// The access log's lines, once `count` have been written (the line is
    /// written just after the response is queued, so it may trail the reply).
    static func accessLines(_ lockd: TestLockd, count: Int) async -> [String]? {
        let lines = { lockd.logs.all.filter { $0.hasPrefix("info request ") } }
        guard await eventually(within: .seconds(5), { lines().count >= count }) else { return nil }
        return lines()
    }
}
