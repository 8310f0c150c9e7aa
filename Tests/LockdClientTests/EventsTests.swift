import Foundation
import Synchronization
import LockdAuth
import LockdClient
import LockdTestSupport
import Testing

/// `LockClient.events(prefix:)`: lockd's event stream as an AsyncSequence,
/// over the SDK's own transport, against every store.
@Suite struct EventsTests {
    @Test(arguments: StoreKind.allCases)
    func theSequenceCarriesEveryKindAsItHappens(store: StoreKind) async throws {
        try await store.withLockd(logLevel: .info) { lockd in
            let locks = lockd.client(owner: "events-sdk")
            let prefix = uniqueLockName() + ":"
            let seen = EventLog()
            let reader = Task {
                for try await case .event(let event) in locks.events(prefix: prefix) { seen.events.withLock { $0.append(event) } }
            }
            defer { reader.cancel() }
            func arrived(_ kind: LockEvent.Kind, _ name: String) async throws -> LockEvent? {
                _ = try await eventually(within: .seconds(10)) { seen.events.withLock { $0.contains { $0.kind == kind && $0.name == name } } }
                return seen.events.withLock { $0.last { $0.kind == kind && $0.name == name } }
            }
            // The stream opens in the reader's task: take warm-up leases until one shows.
            var round = 0
            let opened = try await eventually(within: .seconds(10)) {
                round += 1
                try await locks.acquire(prefix + "warm-up\(round)", ttl: .seconds(30), autoRenew: false).release()
                return seen.events.withLock { !$0.isEmpty }
            }
            #expect(opened, "no event arrived")

            let lease = try await locks.acquire(prefix + "a", ttl: .seconds(30), autoRenew: false)
            let acquired = try #require(try await arrived(.acquired, prefix + "a"))
            #expect(acquired.fence == lease.fence)
            #expect(acquired.owner == "events-sdk")
            #expect(acquired.mode == .exclusive)
            #expect(acquired.expiresAt != nil)
            try await lease.renew(ttl: .seconds(20))
            #expect(try await arrived(.renewed, prefix + "a")?.fence == lease.fence)
            try await lease.release()
            #expect(try await arrived(.released, prefix + "a")?.fence == lease.fence)

            _ = try await locks.acquire(prefix + "short", ttl: .milliseconds(150), autoRenew: false)
            #expect(try await arrived(.expired, prefix + "short") != nil)
            let ids = seen.events.withLock { $0.compactMap { $0.id } }
            let sequences = ids.compactMap { $0.split(separator: "-").last.flatMap { Int($0) } }
            #expect(Set(ids.map { $0.prefix(16) }).count == 1 && sequences.count == ids.count, "ids not EPOCH-SEQUENCE: \(ids)")
            #expect(sequences == sequences.sorted(), "ids out of order: \(ids)")
        }
    }

    @Test func aClientWithoutReadCannotOpenTheStream() async throws {
        try await StoreKind.memory.withLockd(logLevel: .info, configure: { configuration in
            configuration.authPolicy = try? AuthPolicyFixture.policy(lockOnly: "locker", secret: "locker-secret")
        }) { lockd in
            let locks = LockClient(serverURL: lockd.url, timeout: .seconds(5), bearerToken: "locker-secret")
            var events = locks.events(prefix: "").makeAsyncIterator()
            await #expect(throws: LockError.self) { _ = try await events.next() }
        }
    }
}

/// The events a reader task has received.
final class EventLog: Sendable {
    let events = Mutex<[LockEvent]>([])
}

/// A one-client auth policy for SDK tests.
enum AuthPolicyFixture {
    static func policy(lockOnly id: String, secret: String) throws -> LockdAuth.AccessPolicy {
        let hex = LockdAuth.SHA256Digest(hashing: secret)?.hex ?? ""
        return try LockdAuth.AuthFile.parse(Array(#"{"clients": [{"id": "\#(id)", "sha256": "\#(hex)", "grants": [{"names": "*", "actions": ["lock"]}]}]}"#.utf8), file: "test")
    }
}
