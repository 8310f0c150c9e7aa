import LockdTestSupport
import Foundation
import Testing

/// Events lost on their way to a lockd are not passed over in silence.
@Suite struct EventGapTests {
    /// When the event subscription's connection drops, the events published
    /// until it is renewed never reach this lockd. Its open streams must
    /// not go on as if nothing was missed: they end, so that their readers
    /// resume (and hear `Events-Resumed: false`; the SDK yields `.gap`).
    @Test func eventsLostWhileTheSubscriptionIsDownAreSignalled() async throws {
        try await StoreKind.redis.withLockd(logLevel: .info) { lockd in
            let redis = try #require(lockd.redis)
            let admin = AdminConnection(try RedisAdminClient(port: redis.port))
            let prefix = uniqueLockName() + ":"
            let events = try await EventStreamReader.open(port: lockd.url.port, prefix: prefix)
            #expect(events.status == 200)
            #expect(try await lockd.send("POST", "/locks/\(prefix)a", body: #"{"ttl_ms":60000}"#).status == 201)
            let first = try await events.next()
            #expect(first.name == "\(prefix)a")

            // The subscriber's connection drops and cannot come back for a
            // while (no new connections); the command connections serve on.
            let original = try admin.client.call("CONFIG", "GET", "maxclients").array?.last?.string ?? "1000"
            _ = try admin.client.call("CONFIG", "SET", "maxclients", "1")
            _ = try admin.client.call("CLIENT", "KILL", "TYPE", "pubsub")
            let missed = try await lockd.send("POST", "/locks/\(prefix)b", body: #"{"ttl_ms":60000}"#)
            #expect(missed.status == 201, "\(missed.text)")
            #expect(try admin.client.call("CONFIG", "SET", "maxclients", original).string == "OK")

            // Once the subscription is back, events flow again.
            var names: [String] = []
            var ended = false
            var attempt = 0
            let back = try await eventually(within: .seconds(20), every: .milliseconds(200)) {
                attempt += 1
                let name = "\(prefix)c\(attempt)"
                _ = try await lockd.send("POST", "/locks/\(name)", body: #"{"ttl_ms":60000}"#)
                do {
                    let event = try await events.next(timeout: .milliseconds(500))
                    names.append(event.name ?? "?")
                    return true
                } catch {
                    // The stream ended (as it should, so the reader reconnects) or nothing came yet.
                    if "\(error)".contains("connection closed") { ended = true; return true }
                    return false
                }
            }
            #expect(back, "events never flowed again")
            #expect(ended, "the stream went on without \(prefix)b's acquired and without any sign of a gap; read \(names)")
            // Its reader resumes from the last event it read, and hears that
            // events may be missing.
            let resumed = try await EventStreamReader.open(port: lockd.url.port, prefix: prefix,
                                                           headers: ["Last-Event-ID": try #require(first.id)])
            #expect(resumed.status == 200)
            #expect(resumed.head.lowercased().contains("events-resumed: false"), "\(resumed.head)")
        }
    }
}

/// One admin connection kept across steps (a new one is refused while
/// `maxclients` is down). Safe to share: the test uses it from one task,
/// one call at a time.
private final class AdminConnection: @unchecked Sendable {
    let client: RedisAdminClient
    init(_ client: RedisAdminClient) { self.client = client }
}
