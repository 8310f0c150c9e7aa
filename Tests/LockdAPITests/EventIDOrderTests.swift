import LockdTestSupport
import Foundation
import Synchronization
import Testing

/// The ids one `GET /events` stream carries.
@Suite struct EventIDOrderTests {
    /// The SSE ids of one stream must increase: a reader resumes with the id
    /// of the last event it read, and lockd replays only what comes after
    /// it. Two events received at once (request threads with the
    /// in-memory store; the expiry task beside the store's subscription on
    /// Redis) must not reach a stream as id N+1 before id N: a reader cut
    /// off between the two would resume after N+1 and never get N, with
    /// `Events-Resumed: true`.
    @Test(arguments: StoreKind.allCases)
    func eventIDsOfOneStreamIncrease(store: StoreKind) async throws {
        try await store.withLockd(logLevel: .info, configure: { $0.loopCount = 4 }) { lockd in
            let prefix = uniqueLockName() + ":"
            let events = try await EventStreamReader.open(port: lockd.url.port, prefix: prefix)
            #expect(events.status == 200)
            let workers = 8
            let rounds = 40
            // Read while the load runs: each event's name, kind and sequence,
            // until as many as expected came, or none for 20 s.
            let target = Mutex<Int?>(nil)
            let reader = Task { () -> [(name: String, kind: String, sequence: UInt64)] in
                var read: [(name: String, kind: String, sequence: UInt64)] = []
                var quietSince = ContinuousClock.now
                while ContinuousClock.now - quietSince < .seconds(20) {
                    if let target = target.withLock({ $0 }), read.count >= target { break }
                    guard let event = try? await events.next(timeout: .milliseconds(500)) else { continue }
                    guard let sequence = event.id?.split(separator: "-").last.flatMap({ UInt64($0) }) else { break }
                    read.append((event.name ?? "?", event.event ?? "?", sequence))
                    quietSince = ContinuousClock.now
                }
                return read
            }
            // Each round: acquire and release; every fourth lease is left to
            // expire. The events each name must bring, by what was answered.
            let expected = try await withThrowingTaskGroup(of: [String: [String]].self) { group in
                for worker in 0..<workers {
                    group.addTask {
                        var expected: [String: [String]] = [:]
                        for round in 0..<rounds {
                            let name = "\(prefix)w\(worker)r\(round)"
                            let expires = round % 4 == 0
                            let lease = try await lockd.send("POST", "/locks/\(name)", body: expires ? #"{"ttl_ms":100}"# : #"{"ttl_ms":30000}"#)
                            guard lease.status == 201, let token = lease.json["token"] as? String else { continue }
                            expected[name] = ["acquired", expires ? "expired" : "released"]
                            if !expires {
                                #expect(try await lockd.send("DELETE", "/locks/\(name)", headers: ["Lock-Token": token]).status == 204)
                            }
                        }
                        return expected
                    }
                }
                return try await group.reduce(into: [:]) { $0.merge($1) { first, _ in first } }
            }
            #expect(expected.count > workers * rounds / 2)
            target.withLock { $0 = expected.count * 2 }
            let read = await reader.value
            let heard = Dictionary(grouping: read, by: \.name).mapValues { $0.map(\.kind) }
            let missing = expected.filter { heard[$0.key] != $0.value }
            #expect(missing.isEmpty, "\(missing.count) names' events differ, e.g. \(missing.prefix(3).map { ($0.key, heard[$0.key] ?? []) })")
            let sequences = read.map(\.sequence)
            let inversions = zip(sequences, sequences.dropFirst()).filter { $0.0 >= $0.1 }
            #expect(inversions.isEmpty, "\(inversions.count) ids out of order in one stream, e.g. \(inversions.prefix(5))")
        }
    }
}
