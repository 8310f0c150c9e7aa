import Testing

@testable import LockEngine

/// Review of issue 22's lease table: a freed place reused by another lease,
/// expiries exactly on a tick's edge, and a name with thousands of leases
/// (readers) that end together; and lock names made in different ways.
@Suite struct LeaseTableReviewTests {
    private static let second: UInt64 = 1_000_000_000
    private static let tick: UInt64 = 1 << LeaseTable.tickShift

    private func token(_ number: Int) throws -> LeaseToken {
        try LeaseToken("review-token-\(number)-" + String(repeating: "q", count: 16))
    }

    @Test func aReusedPlaceIsNotEndedOrRemovedForTheLeaseThatHadIt() throws {
        var table = LeaseTable(grace: 0)
        let name = try LockName("review-reuse")
        table.add(name, token: try token(1), times: .init(grantedAt: 0, expiresAt: Self.second))
        #expect(table.remove(name, token: try token(1)) == .init(grantedAt: 0, expiresAt: Self.second))
        // The freed place goes to another lease of the same name, due much later.
        table.add(name, token: try token(2), times: .init(grantedAt: 0, expiresAt: 500 * Self.second))
        #expect(table.remove(name, token: try token(1)) == nil)
        table.setExpiry(name, token: try token(1), to: 0)
        #expect(table.removeDue(now: 2 * Self.second).isEmpty)
        #expect(table.count == 1)
        #expect(table.removeDue(now: 500 * Self.second) == [.init(grantedAt: 0, expiresAt: 500 * Self.second)])
        #expect(table.count == 0)
    }

    @Test func aLeaseDueExactlyOnATicksEdgeEndsAtThatInstantAndNotBefore() throws {
        var table = LeaseTable(grace: 0)
        let name = try LockName("review-edge")
        let edge = 1_000 * Self.tick
        table.add(name, token: try token(1), times: .init(grantedAt: 0, expiresAt: edge))
        table.add(name, token: try token(2), times: .init(grantedAt: 0, expiresAt: edge - 1))
        #expect(table.removeDue(now: edge - 2).isEmpty)
        #expect(table.removeDue(now: edge - 1) == [.init(grantedAt: 0, expiresAt: edge - 1)])
        #expect(table.removeDue(now: edge) == [.init(grantedAt: 0, expiresAt: edge)])
        #expect(table.count == 0)
    }

    @Test func thousandsOfReadersOfOneNameEndTogetherAndTheNameTakesNewOnes() throws {
        var table = LeaseTable(grace: Self.second)
        let name = try LockName("review-readers")
        let other = try LockName("review-other")
        let readers = 3_000
        for number in 0..<readers {
            table.add(name, token: try token(number), times: .init(grantedAt: 0, expiresAt: Self.second * UInt64(1 + number % 3)))
        }
        table.add(other, token: try token(0), times: .init(grantedAt: 0, expiresAt: 100 * Self.second))
        // Some released first, from both ends of the name's list and its middle.
        for number in [0, 1_500, readers - 1] { #expect(table.remove(name, token: try token(number)) != nil) }
        #expect(table.removeDue(now: 2 * Self.second).count == 998)  // 1 s leases, but 0 and 1 500
        #expect(table.removeDue(now: 4 * Self.second).count == 1_999)  // 2 s and 3 s leases, but 2 999
        #expect(table.count == 1)
        #expect(table.remove(name, token: try token(2)) == nil)
        table.add(name, token: try token(7), times: .init(grantedAt: 5 * Self.second, expiresAt: 6 * Self.second))
        #expect(table.remove(name, token: try token(7)) == .init(grantedAt: 5 * Self.second, expiresAt: 6 * Self.second))
        #expect(table.remove(other, token: try token(0)) == .init(grantedAt: 0, expiresAt: 100 * Self.second))
        #expect(table.count == 0)
    }

    /// Equal texts are equal names with equal hashes however the text was
    /// made (a literal, bytes, a substring, joined pieces, a copy).
    @Test func namesMadeInDifferentWaysFromOneTextAreOneKey() throws {
        let text = "orders:4711-review.x_y"
        let bytes = Array(text.utf8)
        let made = [
            text,
            String(decoding: bytes, as: UTF8.self),
            String(("[" + text + "]").dropFirst().dropLast()),
            "orders:" + "4711" + "-review.x_y",
            "orders:\(4711)-review.x_y",
            String(text.utf8.map { Character(UnicodeScalar($0)) }),
        ]
        let names = try made.map { try LockName($0) }
        #expect(Set(names).count == 1)
        for name in names {
            #expect(name == names[0])
            #expect(name.hashValue == names[0].hashValue)
        }
        var table: [LockName: Int] = [names[0]: 1]
        for name in names { table[name, default: 0] += 1 }
        #expect(table == [names[0]: 1 + made.count])
    }
}
