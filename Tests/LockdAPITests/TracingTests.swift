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

    @Test(arguments: [AccessLog.Format.text, .json])
    func theAccessLogWritesOneLinePerRequestAndNeverAToken(format: AccessLog.Format) async throws {
        let written = CapturedLogs()
        let accessLog = AccessLog(format: format) { written.append($0) }
        try await StoreKind.memory.withLockd(configure: { $0.accessLog = accessLog }) { lockd in
            let name = uniqueLockName()
            let lease = try await lockd.send("POST", "/locks/\(name)", body: #"{"ttl_ms":60000}"#, headers: ["X-Request-Id": "acq-1"])
            let token = try #require(lease.json["token"] as? String)
            _ = try await lockd.send("POST", "/locks/\(name)/renew", headers: ["Lock-Token": token])
            _ = try await lockd.send("DELETE", "/locks/\(name)", headers: ["Lock-Token": token])
            _ = try await lockd.send("GET", "/nowhere")
            let spansWritten = await eventually(within: .seconds(5)) { written.all.count >= 4 }
            #expect(spansWritten)
            let lines = written.all
            #expect(lines.count == 4 && lines.allSatisfy { $0.hasSuffix("\n") && $0.dropLast().firstIndex(of: "\n") == nil }, "\(lines)")
            let expected = [("acquire", "POST", 201, "/locks/\(name)"), ("renew", "POST", 200, "/locks/\(name)/renew"),
                            ("release", "DELETE", 204, "/locks/\(name)"), ("none", "GET", 404, "/nowhere")]
            for (line, (route, method, status, path)) in zip(lines, expected) {
                switch format {
                case .text:
                    for field in ["http.route=\(route) ", "http.method=\(method) ", "http.status=\(status) ", "http.path=\(path) ",
                                  "duration_ms=", "request.id=", "client.address=127.0.0.1:", " info lockd.access: "] {
                        #expect(line.contains(field), "\(field) is not in \(line)")
                    }
                case .json:
                    let object = try #require((try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any], "\(line)")
                    #expect(object["http.route"] as? String == route && object["http.method"] as? String == method)
                    #expect(object["http.status"] as? Int == status && object["http.path"] as? String == path)
                    #expect(object["duration_ms"] is Double && object["request.id"] is String && object["label"] as? String == "lockd.access")
                    #expect((object["ts"] as? String)?.hasSuffix("Z") == true)
                }
            }
            #expect(lines[0].contains("acq-1"))
            #expect(!lines.contains { $0.contains(token) }, "an access line carries the lease token")
        }
    }
}
