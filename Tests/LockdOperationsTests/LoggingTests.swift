import Foundation
import LockdTestSupport
import Testing

/// What the lockd binary logs: JSON lines with an RFC 3339 `ts`, typed
/// values and the request's id; and, during an outage, a bounded number of
/// lines however many requests fail.
@Suite struct LoggingTests {
    @Test func aRequestsIdComesBackAndIsInItsJSONLogLine() async throws {
        try await StoreKind.redis.withLockdProcess(arguments: ["--log-format", "json", "--log-level", "debug", "--access-log"]) { lockd, _ in
            let id = "ops-\(UUID().uuidString)"
            let trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
            let sent = try await lockd.request("POST", "/locks/\(uniqueLockName())", headers: ["X-Request-Id": id, "traceparent": trace])
            #expect(sent.status == 201)
            #expect(sent.header("X-Request-Id") == id)
            let made = try await lockd.request("POST", "/locks/\(uniqueLockName())")
            let madeID = try #require(made.header("X-Request-Id"))

            let lines = try #require(await Self.jsonLines(lockd, until: { lines in
                lines.contains { $0["request.id"] as? String == madeID }
                    && lines.contains { $0["request.id"] as? String == id && $0["label"] as? String == "lockd.access" }
            }), "no JSON line carries the request ids: \(lockd.output.suffix(2_000))")
            let line = try #require(lines.first { $0["request.id"] as? String == id && $0["msg"] as? String == "lease granted" })
            #expect(line["traceparent"] as? String == trace)
            // The label says which part of lockd wrote the line.
            #expect(line["label"] as? String == "lockd.api", "\(line)")
            #expect(lines.contains { $0["label"] as? String == "lockd" && $0["msg"] as? String == "lockd listening" })
            let access = lines.first { $0["label"] as? String == "lockd.access" && $0["request.id"] as? String == id }
            #expect(access?["http.status"] as? Int == 201 && access?["http.route"] as? String == "acquire", "\(String(describing: access))")
            #expect(line["lock.fence"] is Int, "a fence is a number: \(line)")
            #expect(line["lock.retry"] as? Bool == false, "a flag is a boolean: \(line)")
            for entry in lines {
                let ts = entry["ts"] as? String ?? ""
                #expect(ts.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/) != nil, "ts is not RFC 3339 UTC: \(ts)")
                #expect(entry["level"] is String && entry["msg"] is String && entry["label"] is String)
            }
        }
    }

    @Test func anOutageLogsABoundedNumberOfLinesThatCarryRequestIds() async throws {
        try await StoreKind.redis.withLockdProcess(arguments: ["--log-format", "json"]) { lockd, redis in
            let redis = try #require(redis)
            #expect(try await lockd.request("POST", "/locks/\(uniqueLockName())").status == 201)
            try await offThePool { redis.kill() }
            let before = lockd.output.split(separator: "\n").count
            let ids = (0..<50).map { "outage-\($0)-\(UUID().uuidString)" }
            for id in ids {
                #expect(try await lockd.request("POST", "/locks/\(uniqueLockName())", headers: ["X-Request-Id": id]).status == 503)
            }
            // The lines of the burst, at info and above (the default level).
            let burst = lockd.output.split(separator: "\n").dropFirst(before).compactMap(Self.json)
            #expect(burst.count <= 8, "50 failed requests logged \(burst.count) lines: \(burst)")
            #expect(!burst.isEmpty, "the outage was not logged at all")
            // The API's lines are about the requests it answers 503. Not the
            // store's outage warning (once a second, whichever call fails
            // first): that call may be one no request made (the background
            // give-back of what a failed attempt may have taken), and then
            // it names none.
            let aboutRequests = burst.filter { $0["label"] as? String == "lockd.api" }
            #expect(!aboutRequests.isEmpty && aboutRequests.allSatisfy { ids.contains($0["request.id"] as? String ?? "") }, "\(burst)")
            // A line that names a request names one of these.
            #expect(burst.allSatisfy { ($0["request.id"] as? String).map(ids.contains) ?? true }, "\(burst)")
        }
    }

    /// lockd's output as JSON objects, once `done` holds for them.
    static func jsonLines(_ lockd: LockdProcess, until done: ([[String: Any]]) -> Bool) async -> [[String: Any]]? {
        let lines = { lockd.output.split(separator: "\n").compactMap(Self.json) }
        guard await eventually(within: .seconds(5), { done(lines()) }) else { return nil }
        return lines()
    }

    static func json(_ line: Substring) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
    }
}
