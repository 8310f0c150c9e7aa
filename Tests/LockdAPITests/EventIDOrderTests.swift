import LockdTestSupport
import Foundation
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
            // Each round: acquire and release (2 events); every fourth
            // lease is left to expire (acquired, expired).
            let expected = workers * rounds * 2
            async let load: Void = withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<workers {
                    group.addTask {
                        for round in 0..<rounds {
                            let name = "\(prefix)w\(worker)r\(round)"
                            if round % 4 == 0 {
                                _ = try await lockd.send("POST", "/locks/\(name)", body: #"{"ttl_ms":100}"#)
                                continue
                            }
                            let lease = try await lockd.send("POST", "/locks/\(name)", body: #"{"ttl_ms":30000}"#)
                            guard let token = lease.json["token"] as? String else { continue }
                            _ = try await lockd.send("DELETE", "/locks/\(name)", headers: ["Lock-Token": token])
                        }
                    }
                }
                try await group.waitForAll()
            }
            var sequences: [UInt64] = []
            for _ in 0..<expected {
                let event = try await events.next(timeout: .seconds(30))
                let sequence = try #require(event.id?.split(separator: "-").last.flatMap { UInt64($0) }, "id \(event.id ?? "nil")")
                sequences.append(sequence)
            }
            try await load
            let inversions = zip(sequences, sequences.dropFirst()).filter { $0.0 >= $0.1 }
            #expect(inversions.isEmpty, "\(inversions.count) ids out of order in one stream, e.g. \(inversions.prefix(5))")
        }
    }
}
