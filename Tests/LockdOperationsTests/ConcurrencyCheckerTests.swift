import LockdTestSupport
import Synchronization
import Testing

/// Semaphores and reader-writer locks (issue 12) checked under concurrency
/// against two real lockd processes on one real redis-server: clients on
/// both instances loop acquire → hold → release, and a checker replays what
/// they saw.
///
/// Each hold is recorded from the client's view, from its `201` received to
/// its release sent. That interval lies inside the lease's true one, so a
/// busy machine can hide an overlap but never invent one: the checks have no
/// false positives. Bounds are loose for a busy two-core machine.
@Suite struct ConcurrencyCheckerTests {
    @Test func aSemaphoreNeverHasMoreHoldersThanItsLimitAndFencesFollowGrantOrder() async throws {
        try await withTwoLockds { lockds, name in
            let holds = Holds()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for client in 0..<8 {
                    group.addTask {
                        for _ in 0..<5 {
                            try await holds.cycle(name, on: lockds[client % 2], client: client,
                                                  fields: #""limit":3"#, hold: .milliseconds(20))
                        }
                    }
                }
                try await group.waitForAll()
            }
            let all = holds.all
            #expect(all.count == 40)
            let peak = Holds.peakOverlap(all)
            #expect(peak <= 3, "\(peak) leases held at once on a semaphore of limit 3")
            #expect(peak >= 2, "the semaphore never had two holders at once: it serializes")
            try Holds.checkFences(all)
            try await expectFree(name, on: lockds[0])
        }
    }

    @Test func writersAreAloneReadersShareAndAQueuedWriterGetsInWhileReadersKeepComing() async throws {
        try await withTwoLockds { lockds, name in
            let holds = Holds()
            let writersDone = Shared(false)
            let deadline = ContinuousClock.now + .seconds(30)
            // Readers come back at once, so the name is never free of them
            // for long: only a fair queue lets a writer in.
            let readerLoops = Task {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for client in 0..<5 {
                        group.addTask {
                            while !writersDone.value, ContinuousClock.now < deadline {
                                try await holds.cycle(name, on: lockds[client % 2], client: client,
                                                      fields: #""mode":"shared""#, hold: .milliseconds(30))
                            }
                        }
                    }
                    try await group.waitForAll()
                }
            }
            do {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for client in 5..<7 {
                        group.addTask {
                            for _ in 0..<3 {
                                // Each writer round starts while readers hold the name.
                                let readersHold = try await eventually(within: .seconds(10)) {
                                    try await status(of: name, at: lockds[client % 2])["mode"] as? String == "shared"
                                }
                                try #require(readersHold, "no reader held the name within 10 s")
                                let hold = try await holds.cycle(name, on: lockds[client % 2], client: client,
                                                                 fields: #""mode":"exclusive""#, hold: .milliseconds(10))
                                #expect(hold.granted - hold.requested < .seconds(5),
                                        "a writer waited \(hold.granted - hold.requested) while readers kept coming")
                            }
                        }
                    }
                    try await group.waitForAll()
                }
            } catch {
                writersDone.set(true)
                _ = try? await readerLoops.value
                throw error
            }
            writersDone.set(true)
            try await readerLoops.value
            let all = holds.all
            let writers = all.filter { $0.mode == "exclusive" }
            let readers = all.filter { $0.mode == "shared" }
            #expect(writers.count == 6)
            for writer in writers {
                let others = all.filter { $0.fence != writer.fence && $0.overlaps(writer) }
                #expect(others.isEmpty, "writer \(writer.fence) overlapped \(others.map { "\($0.mode) \($0.fence)" })")
            }
            #expect(Holds.peakOverlap(readers) >= 2, "readers never overlapped in \(readers.count) reads: they are serialized")
            try Holds.checkFences(all)
            try await expectFree(name, on: lockds[0])
        }
    }

    @Test func aReaderAfterAQueuedWriterWaitsForItAndTheReadersBehindItAreGrantedTogether() async throws {
        try await withTwoLockds { lockds, name in
            let (first, second) = (lockds[0], lockds[1])
            let r1 = try await first.request("POST", "/locks/\(name)", body: #"{"ttl_ms":30000,"mode":"shared","owner":"r1"}"#)
            try #require(r1.status == 201, "\(r1.status) \(r1.text)")
            let r1Token = try #require(r1.json["token"] as? String)
            let r1Fence = try #require(r1.json["fence"] as? Int)

            let granted = Shared<[String]>([])
            func waiting(_ owner: String, _ mode: String, on lockd: LockdProcess) -> Task<Reply, any Error> {
                Task {
                    let reply = try await lockd.request("POST", "/locks/\(name)",
                                                        body: #"{"ttl_ms":30000,"wait_ms":20000,"mode":"\#(mode)","owner":"\#(owner)"}"#,
                                                        timeout: .seconds(25))
                    if reply.status == 201 { granted.update { $0.append(owner) } }
                    return reply
                }
            }
            let w = waiting("w", "exclusive", on: second)
            try await expectWaiting(1, on: name, at: first)
            let r2 = waiting("r2", "shared", on: first)
            try await expectWaiting(2, on: name, at: first)
            let r3 = waiting("r3", "shared", on: second)
            try await expectWaiting(3, on: name, at: first)
            // R2 fits beside R1 but came after W: it must wait.
            #expect(granted.value.isEmpty, "granted while R1 reads and W waits: \(granted.value)")
            #expect(try await holders(of: name, at: first).count == 1)

            #expect(try await first.request("DELETE", "/locks/\(name)", headers: ["Lock-Token": r1Token]).status == 204)
            let wReply = try await w.value
            try #require(wReply.status == 201, "\(wReply.status) \(wReply.text)")
            let wToken = try #require(wReply.json["token"] as? String)
            let wFence = try #require(wReply.json["fence"] as? Int)
            #expect(wFence > r1Fence)
            #expect(granted.value == ["w"])
            let duringWrite = try await status(of: name, at: first)
            #expect(duringWrite["mode"] as? String == "exclusive" && duringWrite["waiting"] as? Int == 2, "\(duringWrite)")

            #expect(try await second.request("DELETE", "/locks/\(name)", headers: ["Lock-Token": wToken]).status == 204)
            var readerTokens: [String] = []
            for reader in [r2, r3] {
                let reply = try await reader.value
                try #require(reply.status == 201, "\(reply.status) \(reply.text)")
                #expect(try #require(reply.json["fence"] as? Int) > wFence)
                readerTokens.append(try #require(reply.json["token"] as? String))
            }
            // Neither reader has released: both hold the name together.
            let readers = try await holders(of: name, at: second)
            #expect(readers.count == 2 && readers.allSatisfy { $0["mode"] as? String == "shared" }, "\(readers)")
            for (token, lockd) in zip(readerTokens, [first, second]) {
                #expect(try await lockd.request("DELETE", "/locks/\(name)", headers: ["Lock-Token": token]).status == 204)
            }
            try await expectFree(name, on: first)
        }
    }

    // MARK: Helpers

    /// Two lockd processes on one fresh redis-server, and a fresh lock name.
    private func withTwoLockds(_ body: ([LockdProcess], String) async throws -> Void) async throws {
        let redis = try await offThePool { try RedisServerFixture.start() }
        var lockds: [LockdProcess] = []
        do {
            for _ in 0..<2 { lockds.append(try await LockdProcess.start(["--redis", redis.url])) }
            try await body(lockds, uniqueLockName())
        } catch {
            Issue.record("lockd output: \(lockds.map { $0.output.suffix(1_500) })")
            for lockd in lockds { await lockd.stop() }
            await offThePool { redis.stop() }
            throw error
        }
        for lockd in lockds { await lockd.stop() }
        await offThePool { redis.stop() }
    }

    private func status(of name: String, at lockd: LockdProcess) async throws -> [String: Any] {
        let reply = try await lockd.request("GET", "/locks/\(name)")
        try #require(reply.status == 200, "\(reply.status) \(reply.text)")
        return reply.json
    }

    private func holders(of name: String, at lockd: LockdProcess) async throws -> [[String: Any]] {
        try await status(of: name, at: lockd)["holders"] as? [[String: Any]] ?? []
    }

    private func expectWaiting(_ count: Int, on name: String, at lockd: LockdProcess) async throws {
        let queued = try await eventually(within: .seconds(5)) { try await status(of: name, at: lockd)["waiting"] as? Int == count }
        try #require(queued, "\(count) waiters never queued on \(name)")
    }

    private func expectFree(_ name: String, on lockd: LockdProcess) async throws {
        let free = try await status(of: name, at: lockd)
        #expect(free["held"] as? Bool == false && free["waiting"] as? Int == 0, "\(free)")
    }
}

/// A value that concurrent tasks read and change.
private final class Shared<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    init(_ value: sending Value) { mutex = Mutex(value) }

    var value: Value { mutex.withLock { $0 } }

    func set(_ value: Value) { update { $0 = value } }

    func update(_ change: (inout Value) -> Void) { mutex.withLock { change(&$0) } }
}

/// One lease as its client saw it.
private struct Hold: Sendable {
    let client: Int
    let mode: String
    let fence: Int
    /// When the acquire was sent.
    let requested: ContinuousClock.Instant
    /// When its `201` was received.
    let granted: ContinuousClock.Instant
    /// When its release was sent.
    let releasing: ContinuousClock.Instant

    func overlaps(_ other: Hold) -> Bool { granted < other.releasing && other.granted < releasing }
}

/// The holds of every client, and the checks over them.
private final class Holds: Sendable {
    private let holds = Mutex<[Hold]>([])

    /// Every hold released so far.
    var all: [Hold] { holds.withLock { $0 } }

    /// Acquires (waiting up to 10 s), holds for `hold`, releases, and records the hold.
    /// - Parameter fields: more acquire body fields, such as `"limit":3`.
    @discardableResult
    func cycle(_ name: String, on lockd: LockdProcess, client: Int, fields: String, hold: Duration) async throws -> Hold {
        let requested = ContinuousClock.now
        let reply = try await lockd.request("POST", "/locks/\(name)",
                                            body: #"{"ttl_ms":30000,"wait_ms":10000,"owner":"c\#(client)",\#(fields)}"#,
                                            timeout: .seconds(15))
        let granted = ContinuousClock.now
        try #require(reply.status == 201, "client \(client): \(reply.status) \(reply.text)")
        let token = try #require(reply.json["token"] as? String)
        let fence = try #require(reply.json["fence"] as? Int)
        let mode = try #require(reply.json["mode"] as? String)
        try await Task.sleep(for: hold)
        let releasing = ContinuousClock.now
        let released = try await lockd.request("DELETE", "/locks/\(name)", headers: ["Lock-Token": token])
        try #require(released.status == 204, "client \(client) release: \(released.status) \(released.text)")
        let record = Hold(client: client, mode: mode, fence: fence, requested: requested, granted: granted, releasing: releasing)
        holds.withLock { $0.append(record) }
        return record
    }

    /// The most holds at one instant; a release before a grant at the same instant.
    static func peakOverlap(_ holds: [Hold]) -> Int {
        let events = holds.flatMap { [($0.granted, 1), ($0.releasing, -1)] }.sorted { ($0.0, $0.1) < ($1.0, $1.1) }
        var current = 0
        var peak = 0
        for (_, change) in events {
            current += change
            peak = max(peak, current)
        }
        return peak
    }

    /// Fences are distinct, and a lease granted before another was even
    /// asked for has the smaller fence.
    static func checkFences(_ holds: [Hold]) throws {
        #expect(Set(holds.map(\.fence)).count == holds.count, "repeated fences: \(holds.map(\.fence).sorted())")
        #expect(holds.allSatisfy { $0.fence >= 1 })
        for later in holds {
            let earlier = holds.filter { $0.granted < later.requested && $0.fence >= later.fence }
            #expect(earlier.isEmpty, "fence \(later.fence) was granted after \(earlier.map(\.fence)), which are not smaller")
        }
    }
}
