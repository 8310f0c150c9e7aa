import LockdTestSupport
import Testing

@testable import LockEngine

/// Review 15: the lease table against a plain model, with every operation
/// the ledger uses mixed — grants (several on a name), renewals, releases
/// and sweeps of the due ones — on a clock that only moves forward, as the
/// ledger's does. A sweep must end exactly the leases due by then (none
/// renewed past it, none released), each once; every other lease must stay
/// found by its name and token. Many names share a place in the index, so
/// sweeps that take a name's list head out of the index (closing its gap
/// by moving other names back) run often.
@Suite struct Review15LeaseTableModelTests {
    private typealias Key = LeaseTableModelKey

    private static func token(_ number: Int) throws -> LeaseToken {
        try Key.token(number, prefix: "model", filler: "r")
    }

    @Test(arguments: [UInt64(1), 2, 3])
    func sweepsReleasesAndRenewalsAgreeWithAModel(seed: UInt64) throws {
        let grace: UInt64 = 1_000_000_000
        var table = LeaseTable(grace: grace)
        var model: [Key: LeaseTable.Times] = [:]
        // The model's keys in an order of their own (a dictionary's order
        // changes from process to process): picks are reproducible.
        var live: [Key] = []
        func pick() -> Key? {
            live.isEmpty ? nil : live[Int(random.next() % UInt64(live.count))]
        }
        func forget(_ key: Key) {
            if let index = live.firstIndex(of: key) { live.swapAt(index, live.count - 1); live.removeLast() }
        }
        var random = SplitMix64(seed: seed)
        let names = try (0..<400).map { try LockName("model-\($0)") }
        var now: UInt64 = 5_000_000_000
        var nextToken = 0
        func ttl() -> UInt64 {
            // Mostly short, some past the wheel's lap (69 s), some zero.
            switch random.next() % 10 {
            case 0: 0
            case 1: 70_000_000_000 + random.next() % 80_000_000_000
            default: random.next() % 5_000_000_000
            }
        }
        for step in 0..<60_000 {
            switch random.next() % 16 {
            case 0...6:
                let name = Int(random.next() % UInt64(names.count))
                let times = LeaseTable.Times(grantedAt: now, expiresAt: now + ttl())
                table.add(names[name], token: try Self.token(nextToken), times: times)
                model[Key(name: name, token: nextToken)] = times
                live.append(Key(name: name, token: nextToken))
                nextToken += 1
            case 7...9:
                guard let key = pick() else { continue }
                let expiresAt = now + ttl()
                table.setExpiry(names[key.name], token: try Self.token(key.token), to: expiresAt)
                model[key]?.expiresAt = expiresAt
            case 10...11:
                // A release, or one of a lease that is gone (or never was).
                if random.next() % 4 == 0 {
                    let key = Key(name: Int(random.next() % UInt64(names.count)), token: Int(random.next() % UInt64(nextToken + 1)))
                    #expect(table.remove(names[key.name], token: try Self.token(key.token)) == model.removeValue(forKey: key), "step \(step)")
                    forget(key)
                } else if let key = pick() {
                    #expect(table.remove(names[key.name], token: try Self.token(key.token)) == model.removeValue(forKey: key), "step \(step)")
                    forget(key)
                }
            case 12...14:
                now += random.next() % 2_000_000_000
            default:
                now += random.next() % 600_000_000
                let removed = table.removeDue(now: now)
                let due = model.filter { $0.value.expiresAt + grace <= now }
                for key in due.keys { model[key] = nil }
                live.removeAll { model[$0] == nil }
                let byTimes = { (a: LeaseTable.Times, b: LeaseTable.Times) in
                    (a.grantedAt, a.expiresAt) < (b.grantedAt, b.expiresAt)
                }
                #expect(removed.sorted(by: byTimes) == due.values.sorted(by: byTimes), "step \(step)")
            }
            #expect(table.count == model.count, "step \(step)")
        }
        // Every lease left is found by its name and token, once.
        for (key, times) in model {
            #expect(table.remove(names[key.name], token: try Self.token(key.token)) == times)
            #expect(table.remove(names[key.name], token: try Self.token(key.token)) == nil)
        }
        #expect(table.count == 0)
    }
}
