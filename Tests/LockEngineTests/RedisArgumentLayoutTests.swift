@testable import LockEngine
import LockdRedis
import LockdTransport
import Logging
import RESP
import Testing

/// The keys and arguments lockd writes for the acquire and release scripts,
/// against what the writers before wip-redis24 wrote (kept here): the keys
/// byte for byte, the arguments as the scripts read them — each position of
/// the older layout found in the shorter one, or absent where the script
/// reads absent as that value (empty; mode `x`; limit 1). No Redis: the
/// scripts' behaviour on these arguments is what the lock suites check.
@Suite struct RedisArgumentLayoutTests {
    static let names = ["orders", "a", "billing.eu-west:7", "x-y_z", String(repeating: "n", count: LockName.maxLength)]

    /// The keys of `name` as ``RedisLockStore/nameKeys(_:)`` makes them (each
    /// a `String`, the liveness key by ``RedisLivenessKeys/key(for:)``),
    /// written one by one: the writer before it wrote them from the bytes.
    @Test(arguments: [RedisLivenessKeys.shared, .perSlot])
    func nameKeysAreWrittenAsTheyAreMadeAndFitTheirRoom(keys: RedisLivenessKeys) async throws {
        try await withStore(livenessKeys: keys) { store in
            for text in Self.names {
                let name = try LockName(text)
                let room = store.nameKeysRoom(name)
                let written = RESPArgumentWriter.write(capacity: room) { store.writeNameKeys(name, to: &$0) }
                let made = RESPArgumentWriter.write(capacity: 4096) { cursor in
                    for key in store.nameKeys(name) { cursor.append(key) }
                }
                #expect(written == made)
                #expect(written.bytes.count <= room)
                #expect(Self.arguments(written)[3] == keys.key(for: name))
            }
        }
    }

    /// The longest liveness key is the longest of all slots'.
    @Test func theLongestLivenessKeyIsTheLongestOfAnySlot() {
        let longest = (0..<RedisHashSlot.count).map { "lockd:{\(RedisHashSlot($0).hashTag)}:instances".utf8.count }.max()
        #expect(RedisLivenessKeys.perSlot.maxKeyLength == longest)
        #expect(RedisLivenessKeys.shared.maxKeyLength == "lockd:instances".utf8.count)
    }

    /// Every acquire's arguments, read as the script reads them, hold what
    /// the older, fixed layout held in each position.
    @Test func acquireArgumentsHoldWhatTheOlderLayoutHeld() async throws {
        try await withStore(livenessKeys: .shared) { store in
            var checked = 0
            for attempt in try Self.attempts() {
                let room = store.acquireArgumentRoom(attempt)
                let written = RESPArgumentWriter.write(capacity: room) { store.writeAcquireArguments(attempt, to: &$0) }
                #expect(written.bytes.count <= room)
                let arguments = Self.arguments(written)
                #expect(Array(arguments.prefix(RedisLockStore.nameKeyCount)) == store.nameKeys(attempt.name))
                let new = Array(arguments.dropFirst(RedisLockStore.nameKeyCount))
                let old = Self.olderAcquireArguments(store, attempt)
                // ARGV in the older layout → where the script reads it now, and its value when absent.
                let moved: [(old: Int, new: Int, absent: String)] = [
                    (1, 1, ""), (2, 2, ""), (3, 5, ""), (4, 9, ""), (7, 3, ""), (8, 7, "x"), (9, 8, "1"), (10, 6, ""),
                    (11, 11, ""), (12, 4, ""), (13, 12, ""), (14, 13, ""),
                ]
                for (o, n, absent) in moved {
                    let now = n <= new.count ? new[n - 1] : absent
                    let before = o <= old.count ? old[o - 1] : ""
                    #expect(now == before, "ARGV[\(o)] of \(attempt)")
                }
                // The queue's retention is read only for a waiter; the window was always the constant.
                if attempt.waiter != nil { #expect(new[9] == old[5]) }
                #expect(old[4] == String(RedisLockStore.livenessWindowMs))
                // Nothing after the last one set.
                #expect(new.count == 3 || new.last.map { !$0.isEmpty } == true)
                checked += 1
            }
            #expect(checked == 120)
        }
    }

    /// A release's arguments: token, name, then caller, unclaimed, fence,
    /// nonce up to the last one set (were: token, name, unclaimed, caller, …).
    @Test func releaseArgumentsHoldWhatTheOlderLayoutHeld() async throws {
        try await withStore(livenessKeys: .shared) { store in
            let name = try LockName("orders")
            let token = LeaseToken.random()
            let grants: [(Int64?, Int64?)] = [(nil, nil), (1_796_338_413_490_675, nil), (nil, 4_711)]
            for caller in ["", store.instanceID] {
                for unclaimed in [false, true] {
                    for (fence, nonce) in grants {
                        let release = RedisLockStore.ReleaseArguments(token: token, unclaimedOnly: unclaimed, namesCaller: !caller.isEmpty,
                                                                      fence: fence, nonce: nonce)
                        let room = store.releaseArgumentRoom(name, token: token, namesCaller: !caller.isEmpty, namesGrant: fence != nil || nonce != nil)
                        let written = RESPArgumentWriter.write(capacity: room) { store.writeReleaseArguments(name, release, to: &$0) }
                        let new = Array(Self.arguments(written).dropFirst(RedisLockStore.nameKeyCount))
                        var old = [token.value, name.value, unclaimed ? "1" : "", caller]
                        if let fence { old.append(String(fence)) }
                        if let nonce { old += ["", String(nonce)] }
                        func read(_ arguments: [String], _ index: Int) -> String { index <= arguments.count ? arguments[index - 1] : "" }
                        #expect(Array(new.prefix(2)) == Array(old.prefix(2)))
                        #expect(read(new, 3) == read(old, 4), "caller")
                        #expect(read(new, 4) == read(old, 3), "unclaimed")
                        #expect(read(new, 5) == read(old, 5), "fence")
                        #expect(read(new, 6) == read(old, 6), "nonce")
                        #expect(new.last.map { !$0.isEmpty } ?? true)
                    }
                }
            }
        }
    }

    /// The acquire's arguments as the writer before wip-redis24 wrote them
    /// (after the keys): token ttl owner member window retention name mode
    /// limit client asks_wish with_holders delay [nonce].
    static func olderAcquireArguments(_ store: RedisLockStore, _ attempt: AcquireAttempt) -> [String] {
        let asksWish = attempt.waiter != nil && attempt.durability == .primary
        var old = [attempt.token.value, String(attempt.ttlMs), attempt.owner ?? "", attempt.waiter.map { store.member($0) } ?? "",
                   String(RedisLockStore.livenessWindowMs), String(store.retention(waitMs: attempt.waitMs)), attempt.name.value,
                   attempt.mode == .shared ? "s" : "x", String(attempt.limit), attempt.client ?? "", asksWish ? "1" : "",
                   attempt.needsHolders ? "1" : "", attempt.lockDelayMs > 0 ? String(attempt.lockDelayMs) : ""]
        if let nonce = attempt.nonce { old.append(String(nonce.value)) }
        return old
    }

    /// Attempts that set each optional argument alone and with the others:
    /// plain, a semaphore's, a reader's; waiting or not; with an owner, a
    /// client, both or neither; each as it is, without holders needed, with
    /// a lock delay, with a nonce, and replicated.
    static func attempts() throws -> [AcquireAttempt] {
        var attempts: [AcquireAttempt] = []
        let name = try LockName("orders:4711")
        for (mode, limit) in [(LockMode.exclusive, 1), (.exclusive, 3), (.shared, 1)] {
            for waits in [false, true] {
                for owner in [nil, "billing-7"] as [String?] {
                    for client in [nil, "svc-a"] as [String?] {
                        let attempt = AcquireAttempt(name: name, token: .random(), ttlMs: 30_000, owner: owner,
                                                     waiter: waits ? .random(mode: mode, limit: limit) : nil, waitMs: waits ? 5_000 : 0,
                                                     mode: mode, limit: limit, client: client)
                        var noHolders = attempt, delayed = attempt, named = attempt, replicated = attempt
                        noHolders.needsHolders = false
                        delayed.lockDelayMs = 5_000
                        named.nonce = .random()
                        replicated.durability = .replicated
                        attempts += [attempt, noHolders, delayed, named, replicated]
                    }
                }
            }
        }
        return attempts
    }

    /// The bulk strings of `encoded`, as text.
    static func arguments(_ encoded: RESPEncodedArguments) -> [String] {
        var found: [String] = []
        var index = 0
        let bytes = encoded.bytes
        while index < bytes.count, bytes[index] == UInt8(ascii: "$") {
            var length = 0
            index += 1
            while bytes[index] != UInt8(ascii: "\r") {
                length = length * 10 + Int(bytes[index] - UInt8(ascii: "0"))
                index += 1
            }
            index += 2
            found.append(String(decoding: bytes[index..<index + length], as: UTF8.self))
            index += length + 2
        }
        #expect(found.count == encoded.count)
        return found
    }

    /// A store whose client never connects (nothing here sends).
    func withStore(livenessKeys: RedisLivenessKeys, _ body: (RedisLockStore) async throws -> Void) async throws {
        let loops = try EventLoopGroup(loopCount: 1, namePrefix: "argument-layout")
        defer { loops.shutdown() }
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let client = RedisClient(configuration: try RedisConfiguration(url: "redis://127.0.0.1:1"), eventLoopGroup: loops, logger: logger)
        let store = RedisLockStore(client: client, livenessKeys: livenessKeys, logger: logger)
        try await body(store)
        await client.shutdown()
    }
}
