import LockdTestSupport
import Testing

@testable import LockEngine

/// Review 17: the lease table against a plain model through bursts — tens
/// of thousands of leases on fresh names granted, then nearly all released
/// or left to expire — so that a table that rebuilds itself smaller after a
/// burst (wip-live30's `shrinkIfOversized`, run by each sweep) does so many
/// times while leases of every kind are held across the rebuild: several on
/// one name (a semaphore's), renewed ones (their expiry moved, some past the
/// wheel's lap), and one client token used on many names (a client that
/// sends its own token for every lock). Every sweep must end exactly the
/// leases due by then, each once; a lease released or renewed must never
/// be ended by a sweep; a release must remove only its own name's lease.
@Suite struct Review17LeaseTableBurstModelTests {
    private typealias Key = LeaseTableModelKey

    private static func token(_ number: Int) throws -> LeaseToken {
        try Key.token(number, prefix: "burst17", filler: "s")
    }

    @Test(arguments: [UInt64(7), 8])
    func burstsOfFreshNamesAgreeWithAModel(seed: UInt64) throws {
        let grace: UInt64 = 1_000_000_000
        var table = LeaseTable(grace: grace)
        var model: [Key: LeaseTable.Times] = [:]
        var live: [Key] = []
        var random = SplitMix64(seed: seed)
        var now: UInt64 = 5_000_000_000
        var nextName = 0
        var nextToken = 0
        // Token 0 is the client's own, used on many names.
        let sharedToken = 0
        nextToken = 1
        var names: [Int: LockName] = [:]
        func name(_ number: Int) throws -> LockName {
            if let known = names[number] { return known }
            let made = try LockName("burst17-\(number)")
            names[number] = made
            return made
        }
        func ttl() -> UInt64 {
            switch random.next() % 10 {
            case 0: 0
            case 1: 70_000_000_000 + random.next() % 80_000_000_000
            default: random.next() % 5_000_000_000
            }
        }
        func sweep(_ label: String) {
            let removed = table.removeDue(now: now)
            let due = model.filter { $0.value.expiresAt + grace <= now }
            for key in due.keys { model[key] = nil }
            live.removeAll { model[$0] == nil }
            let byTimes = { (a: LeaseTable.Times, b: LeaseTable.Times) in (a.grantedAt, a.expiresAt) < (b.grantedAt, b.expiresAt) }
            #expect(removed.count == due.count, "\(label)")
            #expect(removed.sorted(by: byTimes) == due.values.sorted(by: byTimes), "\(label)")
        }
        for round in 0..<6 {
            // A burst: fresh names, some with several leases, some with the shared token.
            let burst = 20_000 + Int(random.next() % 20_000)
            for _ in 0..<burst {
                let number = nextName
                nextName += 1
                let holders = random.next() % 8 == 0 ? 3 : 1
                for _ in 0..<holders {
                    let tokenNumber: Int
                    if random.next() % 16 == 0 {
                        tokenNumber = sharedToken
                    } else {
                        tokenNumber = nextToken
                        nextToken += 1
                    }
                    let key = Key(name: number, token: tokenNumber)
                    guard model[key] == nil else { continue }
                    let times = LeaseTable.Times(grantedAt: now, expiresAt: now + ttl())
                    table.add(try name(number), token: try Self.token(tokenNumber), times: times)
                    model[key] = times
                    live.append(key)
                }
            }
            #expect(table.count == model.count, "round \(round) after the burst")
            // Most released, some renewed (a few far ahead), the rest left to expire.
            live.shuffle(using: &random)
            var kept: [Key] = []
            for key in live {
                switch random.next() % 20 {
                case 0:
                    let expiresAt = now + ttl()
                    table.setExpiry(try name(key.name), token: try Self.token(key.token), to: expiresAt)
                    model[key]?.expiresAt = expiresAt
                    kept.append(key)
                case 1, 2:
                    kept.append(key)
                default:
                    #expect(table.remove(try name(key.name), token: try Self.token(key.token)) == model.removeValue(forKey: key),
                            "round \(round)")
                }
            }
            live = kept
            #expect(table.count == model.count, "round \(round) after the releases")
            // Sweeps a fraction of a second apart (each may rebuild the table),
            // with renewals and releases of leases held across them.
            for step in 0..<40 {
                now += random.next() % 700_000_000
                sweep("round \(round) sweep \(step)")
                if let key = live.isEmpty ? nil : live[Int(random.next() % UInt64(live.count))] {
                    if random.next() % 2 == 0 {
                        let expiresAt = now + ttl()
                        table.setExpiry(try name(key.name), token: try Self.token(key.token), to: expiresAt)
                        model[key]?.expiresAt = expiresAt
                    } else {
                        #expect(table.remove(try name(key.name), token: try Self.token(key.token)) == model.removeValue(forKey: key))
                        live.removeAll { $0 == key }
                    }
                }
                #expect(table.count == model.count, "round \(round) step \(step)")
            }
        }
        // Every lease left is found by its name and token, once — the shared
        // token's on each of its names.
        for (key, times) in model {
            #expect(table.remove(try name(key.name), token: try Self.token(key.token)) == times)
            #expect(table.remove(try name(key.name), token: try Self.token(key.token)) == nil)
        }
        #expect(table.count == 0)
        now += 200_000_000_000
        #expect(table.removeDue(now: now).isEmpty)
    }
}
