import Foundation
import LockEngine
import LockdAPI
import LockdAuth
import LockdHTTP
import LockdTestSupport
import Testing

/// `GET /events`: every kind of event on both stores, across two lockd
/// instances on one Redis (with the expiry's latency measured), a slow
/// reader cut off alone, and the events a client may read.
@Suite struct EventStreamTests {
    @Test(arguments: StoreKind.allCases)
    func everyKindOfEventArrivesForNamesUnderThePrefix(store: StoreKind) async throws {
        try await store.withLockd { lockd in
            let prefix = uniqueLockName() + ":"
            let events = try await EventStreamReader.open(port: lockd.url.port, prefix: prefix)
            #expect(events.status == 200, "\(events.head)")
            #expect(events.head.contains("Content-Type: text/event-stream"))
            var tokens: [String] = []

            // Outside the prefix: never delivered (the next event is ours).
            _ = try await lockd.send("POST", "/locks/other\(prefix.dropLast())", body: #"{"ttl_ms":60000}"#)
            let name = prefix + "a"
            let lease = try await lockd.send("POST", "/locks/\(name)", body: #"{"ttl_ms":60000,"owner":"worker-1"}"#)
            let token = try #require(lease.json["token"] as? String)
            let fence = try #require(lease.json["fence"] as? Int)
            tokens.append(token)
            let acquired = try await events.next()
            #expect(acquired.event == "acquired")
            #expect(acquired.name == name)
            #expect(acquired.fence == fence)
            #expect(acquired.json["owner"] as? String == "worker-1")
            #expect(acquired.json["mode"] as? String == "exclusive")
            #expect((acquired.json["at"] as? String)?.hasSuffix("Z") == true)
            #expect(acquired.json["expires_at"] as? String == lease.json["expires_at"] as? String)

            #expect(try await lockd.send("POST", "/locks/\(name)/renew", body: #"{"ttl_ms":30000}"#, headers: ["Lock-Token": token]).status == 200)
            let renewed = try await events.next()
            #expect(renewed.event == "renewed")
            #expect(renewed.fence == fence)

            #expect(try await lockd.send("DELETE", "/locks/\(name)", headers: ["Lock-Token": token]).status == 204)
            let released = try await events.next()
            #expect(released.event == "released")
            #expect(released.fence == fence)
            #expect(released.json["owner"] as? String == "worker-1")

            // Force-released by fence: lost to its holder.
            let taken = try await lockd.send("POST", "/locks/\(name)", body: #"{"ttl_ms":60000,"limit":2}"#)
            let takenFence = try #require(taken.json["fence"] as? Int)
            tokens.append(try #require(taken.json["token"] as? String))
            #expect(try await events.next().event == "acquired")
            #expect(try await lockd.send("DELETE", "/locks/\(name)?fence=\(takenFence)").status == 204)
            let lost = try await events.next()
            #expect(lost.event == "lost")
            #expect(lost.fence == takenFence)

            // A reader's lease (the grants layout on Redis) released.
            let reader = try await lockd.send("POST", "/locks/\(prefix)r", body: #"{"ttl_ms":60000,"mode":"shared","owner":"reader-1"}"#)
            let readerToken = try #require(reader.json["token"] as? String)
            tokens.append(readerToken)
            #expect(try await events.next().event == "acquired")
            #expect(try await lockd.send("DELETE", "/locks/\(prefix)r", headers: ["Lock-Token": readerToken]).status == 204)
            let readerReleased = try await events.next()
            #expect(readerReleased.event == "released")
            #expect(readerReleased.fence == reader.json["fence"] as? Int)
            #expect(readerReleased.json["mode"] as? String == "shared")
            #expect(readerReleased.json["owner"] as? String == "reader-1")

            // Expired: nothing announces it; the watching lockd finds it.
            let short = try await lockd.send("POST", "/locks/\(prefix)b", body: #"{"ttl_ms":150,"mode":"shared"}"#)
            tokens.append(try #require(short.json["token"] as? String))
            #expect(try await events.next().event == "acquired")
            let expired = try await events.next()
            #expect(expired.event == "expired")
            #expect(expired.name == "\(prefix)b")
            #expect(expired.json["mode"] as? String == "shared")

            // EPOCH-SEQUENCE: one epoch, sequences in order.
            let ids = [acquired, renewed, released, lost, expired].compactMap(\.id)
            let sequences = ids.compactMap { $0.split(separator: "-").last.flatMap { Int($0) } }
            #expect(Set(ids.map { $0.split(separator: "-").first ?? "" }).count == 1, "ids \(ids)")
            #expect(sequences.count == 5 && sequences == sequences.sorted(), "ids \(ids)")
            for event in [acquired, renewed, released, lost, expired] {
                for token in tokens { #expect(!event.data.contains(token), "an event carried a token") }
            }
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aReaderThatReconnectsWithLastEventIDGetsWhatItMissedFromTheSameLockd(store: StoreKind) async throws {
        try await store.withLockd { lockd in
            let prefix = uniqueLockName() + ":"
            let first = try await EventStreamReader.open(port: lockd.url.port, prefix: prefix)
            #expect(!first.head.contains("Events-Resumed"), "a fresh stream claims to resume")
            _ = try await lockd.send("POST", "/locks/\(prefix)a", body: #"{"ttl_ms":60000}"#)
            let lastRead = try #require(try await first.next().id)
            first.client.close()
            // Missed: maybe queued to the closed stream, maybe after lockd saw it go.
            for name in ["b", "c"] { _ = try await lockd.send("POST", "/locks/\(prefix)\(name)", body: #"{"ttl_ms":60000}"#) }

            let second = try await EventStreamReader.open(port: lockd.url.port, prefix: prefix, headers: ["Last-Event-ID": lastRead])
            #expect(second.head.contains("Events-Resumed: true"), "\(second.head)")
            #expect(try await second.next().name == "\(prefix)b")
            #expect(try await second.next().name == "\(prefix)c")
            _ = try await lockd.send("POST", "/locks/\(prefix)d", body: #"{"ttl_ms":60000}"#)
            #expect(try await second.next().name == "\(prefix)d", "a replayed event came twice, or d was lost")

            // An id of another lockd process, or no id at all: a fresh start, said so.
            let epoch = lastRead.split(separator: "-")[0]
            let otherEpoch = String(repeating: epoch.first == "0" ? "1" : "0", count: 16) + "-1"
            for id in [otherEpoch, "garbage"] {
                let third = try await EventStreamReader.open(port: lockd.url.port, prefix: prefix, headers: ["Last-Event-ID": id])
                #expect(third.head.contains("Events-Resumed: false"), "\(third.head)")
                third.client.close()
            }
            second.client.close()
        }
    }

    @Test func eventsOfEveryInstanceReachAStreamOnAnyAndExpiriesArriveSoon() async throws {
        try await StoreKind.redis.withRedis { redis in
            try await TestLockd.with(redis: redis, logLevel: .info) { watching in
                try await TestLockd.with(redis: redis, logLevel: .info) { other in
                    let prefix = uniqueLockName() + ":"
                    let events = try await EventStreamReader.open(port: watching.url.port, prefix: prefix)
                    #expect(events.status == 200)
                    let lease = try await other.send("POST", "/locks/\(prefix)x", body: #"{"ttl_ms":60000}"#)
                    let token = try #require(lease.json["token"] as? String)
                    #expect(try await events.next().event == "acquired")
                    #expect(try await other.send("DELETE", "/locks/\(prefix)x", headers: ["Lock-Token": token]).status == 204)
                    #expect(try await events.next().event == "released")

                    // The lease is taken, and expires, on the other instance.
                    var latencies: [Double] = []
                    for round in 0..<3 {
                        let short = try await other.send("POST", "/locks/\(prefix)t\(round)", body: #"{"ttl_ms":200}"#)
                        let expiresAt = try #require((short.json["expires_at"] as? String).flatMap(Self.instant))
                        #expect(try await events.next().event == "acquired")
                        let expired = try await events.next()
                        let latency = Date().timeIntervalSince(expiresAt)
                        #expect(expired.event == "expired")
                        #expect(expired.name == "\(prefix)t\(round)")
                        latencies.append(latency * 1000)
                    }
                    // PRODUCT.md asks 100 ms; a busy test machine gets a loose bound.
                    print("expired event latency after expires_at (ms): \(latencies.map { Int($0) })")
                    #expect(latencies.allSatisfy { $0 < 2_000 }, "expired arrived \(latencies) ms after the expiry")
                    #expect(latencies.allSatisfy { $0 > -50 }, "expired arrived before the expiry: \(latencies)")
                }
            }
        }
    }

    @Test func aReaderThatFallsBehindIsCutOffAloneWithAFinalComment() async throws {
        // 100 events a round fit the backlog of a reader that keeps up.
        try await StoreKind.memory.withLockd(logLevel: .info, configure: { $0.http.maxStreamBacklog = 32 << 10 }) { lockd in
            let prefix = uniqueLockName() + ":"
            let slow = try await EventStreamReader.open(port: lockd.url.port, prefix: prefix)
            let fast = try await EventStreamReader.open(port: lockd.url.port, prefix: prefix)
            #expect(lockd.engine.events.watcherCount == 2)
            var rounds = 0
            // The slow reader reads nothing: once its socket buffers (a few
            // MB) and lockd's bounded backlogs are full, it is cut off.
            while lockd.engine.events.watcherCount == 2, rounds < 2_000 {
                rounds += 1
                for index in 0..<50 {
                    let name = try LockName("\(prefix)\(rounds).\(index)")
                    let grant = try await lockd.engine.acquire(AcquireRequest(name: name, ttlMs: 60_000, owner: String(repeating: "o", count: 256)))
                    try await lockd.engine.release(name, token: grant.lease.token)
                }
                // The fast reader keeps up: it reads up to this round's last event.
                _ = try await fast.client.read(until: #"event: released\#ndata: {"name":"\#(prefix)\#(rounds).49""#)
            }
            // 1, not 2: a reader cut off for falling behind leaves no lingering watch to resume.
            #expect(lockd.engine.events.watcherCount == 1, "the slow reader was not cut off after \(rounds) rounds")
            let tail = String(decoding: try await slow.client.readUntilClosed(timeout: .seconds(20)).suffix(300), as: UTF8.self)
            #expect(tail.contains(": the server closed this stream: the reader fell behind"), "\(tail)")

            // The other stream goes on.
            let name = "\(prefix)after"
            _ = try await lockd.send("POST", "/locks/\(name)", body: "{}")
            #expect(try await fast.next { $0.name == name }.event == "acquired")
            let metrics = MetricsScrape(try await lockd.send("GET", "/metrics").text)
            #expect(metrics.value("lockd_event_streams_dropped_total") == 1)
            #expect(metrics.value("lockd_event_streams_open") == 1)
            #expect((metrics.value("lockd_events_sent_total") ?? 0) > 100)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aClientReceivesOnlyEventsOfNamesItMayRead(store: StoreKind) async throws {
        let base = uniqueLockName()
        let policy = try AuthFile.parse(Array("""
            {"clients": [
              {"id": "reader", "sha256": "\(Self.hex("reader-secret"))", "grants": [{"names": "\(base):mine:*", "actions": ["read"]}]},
              {"id": "writer", "sha256": "\(Self.hex("writer-secret"))", "grants": [{"names": "*", "actions": ["lock", "admin"]}]}
            ]}
            """.utf8), file: "test")
        try await store.withLockd(configure: { $0.authPolicy = policy }) { lockd in
            let writer = ["Authorization": "Bearer writer-secret"]
            // A prefix wider than the grants: events are filtered, not refused.
            let events = try await EventStreamReader.open(port: lockd.url.port, prefix: base, headers: ["Authorization": "Bearer reader-secret"])
            #expect(events.status == 200, "\(events.head)")
            #expect(try await EventStreamReader.open(port: lockd.url.port, prefix: base, headers: writer).status == 403)
            #expect(try await EventStreamReader.open(port: lockd.url.port, prefix: base).status == 401)

            #expect(try await lockd.send("POST", "/locks/\(base):theirs:1", body: "{}", headers: writer).status == 201)
            #expect(try await lockd.send("POST", "/locks/\(base):mine:1", body: "{}", headers: writer).status == 201)
            let first = try await events.next()
            #expect(first.name == "\(base):mine:1")
            #expect(first.json["client"] as? String == "writer")
        }
    }

    @Test func lockdShuttingDownClosesItsStreams() async throws {
        let events = try await StoreKind.memory.withLockd(logLevel: .info) { lockd in
            let events = try await EventStreamReader.open(port: lockd.url.port, prefix: "")
            #expect(events.status == 200)
            return events
        }
        #expect(await events.client.closedByServer(within: .seconds(10)), "the stream stayed open after lockd shut down")
    }

    static func hex(_ secret: String) -> String { SHA256Digest(hashing: secret)?.hex ?? "" }

    static func instant(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }
}
