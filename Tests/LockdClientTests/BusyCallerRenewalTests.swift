import Foundation
import LockdClient
import LockdTestSupport
import Synchronization
import Testing

/// Renewals never depend on the caller's executor being free (issue 21): a
/// lease granted to an actor's `withLock` while that actor is busy is kept
/// alive by its renewals until the actor can run the body.
@Suite("withLock: a busy caller's lease still renews")
struct BusyCallerRenewalTests {
    @Test("a lease granted while the calling actor is busy for longer than its TTL is renewed meanwhile, and the body runs unharmed")
    func leaseGrantedToABusyActorRenews() async throws {
        try await StoreKind.memory.withLockd { lockd async throws in
            let name = uniqueLockName()
            let locks = lockd.client()
            let other = lockd.client()
            // Renewed every second: each renewal has two seconds to get through
            // before the lease lapses, room for a busy machine.
            let ttl = Duration.seconds(3)
            // Held by another client, so that withLock's acquire waits at lockd.
            let held = try #require(try await other.tryAcquire(name, ttl: .seconds(30)))
            let caller = Caller()
            let cycle = Task { try await caller.cycle(locks, name, ttl: ttl) }
            let queued = try await timeUntil(within: .seconds(10)) { try await other.status(name).waiting == 1 }
            try #require(queued != nil, "withLock's acquire never queued")
            // The actor is free while its acquire waits: keep it busy from here.
            let gate = Gate()
            // A failed step must not leave the actor's pool thread spinning.
            defer { gate.open.store(true, ordering: .releasing) }
            let busy = Task { await caller.stayBusy(until: gate) }
            let entered = await timeUntil(within: .seconds(10)) { gate.entered.load(ordering: .acquiring) }
            try #require(entered != nil)
            // The grant goes to withLock's acquire, whose answer now waits for the actor.
            try await held.release()
            // Granted once its waiter, woken by the release, has asked again:
            // until then the lock is free (a lapse only after it is held).
            var granted: Int64?
            let wasGranted = try await timeUntil(within: .seconds(10)) {
                granted = try await other.status(name).holders.first { $0.fence > held.fence }?.fence
                return granted != nil
            }
            try #require(wasGranted != nil, "withLock's acquire was not granted the released lock")
            let fence = try #require(granted)
            // Busy until lockd has seen the lease renewed four times — past its
            // TTL since the grant, so that only the renewals kept it — and it
            // must never lapse meanwhile.
            var lapsed = false
            var renewals = 0
            var lastExpiry: Date?
            let renewedPastTheTTL = try await timeUntil(within: ttl * 10, every: .milliseconds(100)) {
                let holders = try await other.status(name).holders
                guard holders.map(\.fence) == [fence] else {
                    lapsed = true
                    return true
                }
                if let lastExpiry, holders[0].expiresAt > lastExpiry { renewals += 1 }
                lastExpiry = holders[0].expiresAt
                return renewals >= 4
            }
            gate.open.store(true, ordering: .releasing)
            await busy.value
            let stoppedByItself = gate.lapsed.load(ordering: .acquiring)
            #expect(!stoppedByItself, "the actor stopped being busy by itself after 60 s")
            #expect(!lapsed, "the lease was not renewed while its caller's actor was busy: it lapsed at lockd")
            #expect(renewedPastTheTTL != nil, "lockd saw \(renewals) renewals")
            let outcome = await cycle.result
            #expect((try? outcome.get()) == "ran", "withLock: \(outcome)")
        }
    }

    final class Gate: Sendable {
        let entered = Atomic<Bool>(false)
        let open = Atomic<Bool>(false)
        /// Set when ``Caller/stayBusy(until:)`` gave up waiting for ``open``.
        let lapsed = Atomic<Bool>(false)
    }

    actor Caller {
        func cycle(_ locks: LockClient, _ name: String, ttl: Duration) async throws -> String {
            try await locks.withLock(name, ttl: ttl, wait: .seconds(30)) { _ in "ran" }
        }

        /// Holds the actor's executor (a thread of the shared pool), as a
        /// long synchronous stretch of the app's own code would — for 60 s at
        /// most, so that a test that never opens the gate cannot keep that
        /// thread from every other test in the process.
        func stayBusy(until gate: Gate) {
            gate.entered.store(true, ordering: .releasing)
            let end = ContinuousClock.now + .seconds(60)
            while !gate.open.load(ordering: .acquiring) {
                guard ContinuousClock.now < end else { return gate.lapsed.store(true, ordering: .releasing) }
                usleep(1_000)
            }
        }
    }
}
