import LockdTestSupport
import Testing

@testable import LockEngine

/// The lease table's name index (open addressing over its entries, with
/// backward-shift deletion): thousands of names taken and given back in a
/// random order, the index growing, wrapping around its end and closing
/// its gaps, every name still found as long as it holds a lease — and not
/// after — as a plain dictionary says.
@Suite struct LeaseTableIndexTests {
    private static func token(_ number: Int) throws -> LeaseToken {
        try LeaseToken("index-\(String(number, radix: 16))-" + String(repeating: "q", count: 16))
    }

    @Test func namesComeAndGoAsADictionarySays() throws {
        var table = LeaseTable(grace: 1_000_000_000)
        var model: [LockName: [Int]] = [:]
        var random = SplitMix64(seed: 24)
        let names = try (0..<3_000).map { try LockName("index-\($0)") }
        var nextToken = 0
        for round in 0..<40 {
            // Grow: new leases, a few names with several.
            for _ in 0..<(round < 20 ? 400 : 150) {
                let name = names[Int(random.next() % UInt64(names.count))]
                table.add(name, token: try Self.token(nextToken), times: .init(grantedAt: 0, expiresAt: 1 << 40))
                model[name, default: []].append(nextToken)
                nextToken += 1
            }
            // Shrink: leases given back in a random order (whole names leave).
            for name in model.keys.sorted().shuffled(using: &random).prefix(round < 20 ? 250 : 400) {
                guard var tokens = model[name], !tokens.isEmpty else { continue }
                let token = tokens.remove(at: Int(random.next() % UInt64(tokens.count)))
                #expect(table.remove(name, token: try Self.token(token)) != nil)
                model[name] = tokens.isEmpty ? nil : tokens
            }
            #expect(table.count == model.values.reduce(0) { $0 + $1.count })
            // Every name is found while it holds a lease; a gone one is not.
            for name in names.prefix(600) {
                let held = model[name] ?? []
                let probe = held.first ?? 0
                #expect((table.remove(name, token: try Self.token(probe)) != nil) == !held.isEmpty, "\(name)")
                if !held.isEmpty {
                    table.add(name, token: try Self.token(probe), times: .init(grantedAt: 0, expiresAt: 1 << 40))
                }
            }
        }
        for (name, tokens) in model {
            for token in tokens { #expect(table.remove(name, token: try Self.token(token)) != nil) }
        }
        #expect(table.count == 0)
        #expect(table.remove(names[0], token: try Self.token(0)) == nil)
    }

    /// Two names whose hashes agree in the 32 bits the index keeps of them
    /// (its tag): the index tells them apart by their text, keeps each
    /// one's leases its own, and moves neither when the other leaves.
    @Test func namesWithOneTagAreStillTwoNames() throws {
        // A birthday search: some tens of thousands of names share a tag.
        var seen: [UInt32: LockName] = [:]
        var pair: (LockName, LockName)?
        for number in 0..<2_000_000 where pair == nil {
            let name = try LockName("tag-\(number)")
            let tag = UInt32(truncatingIfNeeded: name._rawHashValue(seed: 0))
            if let other = seen[tag] { pair = (other, name) } else { seen[tag] = name }
        }
        let (first, second) = try #require(pair)
        #expect(first != second)
        var table = LeaseTable(grace: 0)
        let oneSecond = UInt64(1_000_000_000)
        table.add(first, token: try Self.token(1), times: .init(grantedAt: 0, expiresAt: oneSecond))
        table.add(second, token: try Self.token(2), times: .init(grantedAt: 0, expiresAt: 3 * oneSecond))
        // Each name's token is its own.
        #expect(table.remove(first, token: try Self.token(2)) == nil)
        #expect(table.remove(second, token: try Self.token(1)) == nil)
        // The first name's lease ends by expiry; the second's is still found.
        #expect(table.removeDue(now: 2 * oneSecond) == [.init(grantedAt: 0, expiresAt: oneSecond)])
        #expect(table.remove(first, token: try Self.token(1)) == nil)
        table.add(first, token: try Self.token(3), times: .init(grantedAt: 0, expiresAt: 5 * oneSecond))
        #expect(table.remove(second, token: try Self.token(2)) == .init(grantedAt: 0, expiresAt: 3 * oneSecond))
        #expect(table.remove(first, token: try Self.token(3)) == .init(grantedAt: 0, expiresAt: 5 * oneSecond))
        #expect(table.count == 0)
    }
}
