import LockdTestSupport
import Testing

@testable import LockEngine

/// The lease ledger's table: leases found by name and token, ended in order
/// of expiry by walking only the wheel's buckets that came due — checked
/// against a plain list of every lease, with expiries within a bucket, a lap
/// and several laps ahead, for many leases and names.
@Suite struct LeaseTableTests {
    private static let second: UInt64 = 1_000_000_000
    private static let grace = second

    private func token(_ number: Int) throws -> LeaseToken {
        try LeaseToken("token-\(String(number, radix: 16))-" + String(repeating: "z", count: 16))
    }

    @Test func leasesEndInOrderOfExpiryGraceIncluded() throws {
        var table = LeaseTable(grace: Self.grace)
        let name = try LockName("table-order")
        // Granted at 0, expiring at 3 s, 1 s, 2 s: due a second later each.
        for (number, expiry) in [(0, 3), (1, 1), (2, 2)] {
            table.add(name, token: try token(number), times: .init(grantedAt: 0, expiresAt: UInt64(expiry) * Self.second))
        }
        #expect(table.removeDue(now: 2 * Self.second - 1).isEmpty)
        #expect(table.removeDue(now: 2 * Self.second) == [.init(grantedAt: 0, expiresAt: Self.second)])
        #expect(table.count == 2)
        #expect(table.removeDue(now: 3 * Self.second + Self.second / 2) == [.init(grantedAt: 0, expiresAt: 2 * Self.second)])
        #expect(table.removeDue(now: 10 * Self.second) == [.init(grantedAt: 0, expiresAt: 3 * Self.second)])
        #expect(table.count == 0)
        // The name's list is gone with its last lease; the name takes new ones.
        #expect(table.remove(name, token: try token(0)) == nil)
        table.add(name, token: try token(0), times: .init(grantedAt: 11 * Self.second, expiresAt: 12 * Self.second))
        #expect(table.remove(name, token: try token(0)) == .init(grantedAt: 11 * Self.second, expiresAt: 12 * Self.second))
    }

    @Test func removedAndMovedLeasesEndOnlyWhenTheyShould() throws {
        var table = LeaseTable(grace: Self.grace)
        let shared = try LockName("table-shared")
        let other = try LockName("table-other")
        for number in 0..<4 { table.add(shared, token: try token(number), times: .init(grantedAt: 0, expiresAt: Self.second)) }
        table.add(other, token: try token(0), times: .init(grantedAt: 0, expiresAt: Self.second))
        // Taken from the middle, the end and the front of the name's list.
        #expect(table.remove(shared, token: try token(1)) != nil)
        #expect(table.remove(shared, token: try token(0)) != nil)
        #expect(table.remove(shared, token: try token(3)) != nil)
        #expect(table.remove(shared, token: try token(3)) == nil)  // twice: nothing
        #expect(table.remove(try LockName("table-none"), token: try token(2)) == nil)
        // The other name's lease of the same token is its own.
        #expect(table.count == 2)
        // Renewed to 100 s (more than a lap of the wheel ahead) and 0.5 s.
        table.setExpiry(shared, token: try token(2), to: 100 * Self.second)
        table.setExpiry(other, token: try token(0), to: Self.second / 2)
        table.setExpiry(other, token: try token(9), to: 0)  // no such lease: nothing
        #expect(table.removeDue(now: Self.second + Self.second / 2) == [.init(grantedAt: 0, expiresAt: Self.second / 2)])
        #expect(table.removeDue(now: 100 * Self.second).isEmpty)
        #expect(table.removeDue(now: 101 * Self.second) == [.init(grantedAt: 0, expiresAt: 100 * Self.second)])
        #expect(table.count == 0)
    }

    /// Thousands of leases on hundreds of names, expiring from within the
    /// same tick to several laps ahead, renewed, removed and ended at
    /// uneven intervals (once more than a lap at a time, once going back),
    /// always as a plain list of every lease says.
    @Test func manyLeasesEndAsAPlainListSays() throws {
        var table = LeaseTable(grace: Self.grace)
        var model: [Key: LeaseTable.Times] = [:]
        var random = SplitMix64(seed: 22)
        let names = try (0..<300).map { try LockName("table-many-\($0)") }
        var now: UInt64 = 5 * Self.second
        var nextToken = 0
        for round in 0..<60 {
            for _ in 0..<200 {
                let key = Key(name: names[Int(random.next() % 300)], token: nextToken)
                nextToken += 1
                let ttl = [random.next() % Self.second, random.next() % (30 * Self.second), random.next() % (300 * Self.second)][Int(random.next() % 3)]
                let times = LeaseTable.Times(grantedAt: now, expiresAt: now + ttl)
                table.add(key.name, token: try token(key.token), times: times)
                model[key] = times
            }
            for key in model.keys.sorted(by: { $0.token < $1.token }).shuffled(using: &random).prefix(40) {
                if random.next() % 2 == 0 {
                    #expect(table.remove(key.name, token: try token(key.token)) == model.removeValue(forKey: key))
                } else {
                    let expiresAt = now + random.next() % (90 * Self.second)
                    table.setExpiry(key.name, token: try token(key.token), to: expiresAt)
                    model[key]?.expiresAt = expiresAt
                }
            }
            // Mostly under a second between walks; now and then more than a lap, or back in time.
            now = switch round {
            case 20: now + 80 * Self.second
            case 40: now - 3 * Self.second
            default: now + random.next() % (2 * Self.second)
            }
            let due = model.filter { $0.value.expiresAt + Self.grace <= now }
            let ended = table.removeDue(now: now)
            #expect(ended.count == due.count)
            #expect(ended.map(\.expiresAt).sorted() == due.values.map(\.expiresAt).sorted())
            for key in due.keys { model[key] = nil }
            #expect(table.count == model.count)
        }
        // Every lease left is found by its name and token.
        for (key, times) in model { #expect(table.remove(key.name, token: try token(key.token)) == times) }
        #expect(table.count == 0)
    }

    private struct Key: Hashable {
        var name: LockName
        var token: Int
    }
}
