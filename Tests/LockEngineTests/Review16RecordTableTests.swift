@testable import LockEngine
import Testing

/// review16: the in-memory store's hand-written table of records
/// (``InMemoryRecordTable``, wip-live29) checked against a dictionary:
/// every name added is found at a place holding its own record, every
/// name removed is gone, after any mix of adds, removals by place (the
/// last entry moved into the hole, its index place rewritten), sweeps
/// (``InMemoryRecordTable/removeAll(where:handing:)``), growths and
/// shrinks — and names whose 32-bit tags are equal stay apart.
@Suite struct Review16RecordTableTests {
    /// A small deterministic generator (SplitMix64): the same steps on every run.
    private struct Steps: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// Every name of `model` is found, its record the one stored for it;
    /// the table holds no other name.
    private static func check(_ table: InMemoryRecordTable, against model: [LockName: Int64], absent: [LockName]) {
        #expect(table.count == model.count)
        for (name, mark) in model {
            guard let place = table.place(of: name) else {
                Issue.record("\(name.value) is missing from the table")
                continue
            }
            #expect(table[place].keptUntilMs == mark, "\(name.value) found at another name's record")
        }
        for name in absent where model[name] == nil {
            #expect(table.place(of: name) == nil, "\(name.value) was removed but is still found")
        }
        var seen = 0
        table.forEach { name, record in
            seen += 1
            #expect(model[name] == record.keptUntilMs)
        }
        #expect(seen == model.count)
    }

    @Test func randomAddsRemovalsSweepsAndShrinksKeepEveryNameFindable() throws {
        var table = InMemoryRecordTable()
        var model: [LockName: Int64] = [:]
        var steps = Steps(state: 0x5EED_0016)
        let names = try (0..<700).map { try LockName("review16-table-\($0)") }
        var mark: Int64 = 0
        for round in 0..<40 {
            // Grows well past the index's first sizes, then falls back (a burst).
            let adds = round % 8 == 7 ? 2_000 : 300
            for _ in 0..<adds {
                mark += 1
                let name = names[Int(steps.next() % UInt64(names.count))]
                switch steps.next() % 3 {
                case 0, 1:
                    let place = table.placeAdding(name)
                    table[place].keptUntilMs = mark
                    model[name] = mark
                default:
                    if let place = table.place(of: name) {
                        #expect(table[place].keptUntilMs == model[name])
                        table.remove(at: place)
                        model[name] = nil
                    } else {
                        #expect(model[name] == nil)
                    }
                }
            }
            Self.check(table, against: model, absent: names)
            // A sweep of about half the records, as the store's sweep removes them.
            let cut = mark - Int64(steps.next() % 600)
            var handed = 0
            table.removeAll { record in record.keptUntilMs <= cut } handing: { _ in handed += 1 }
            let before = model.count
            model = model.filter { $0.value > cut }
            #expect(handed == before - model.count)
            Self.check(table, against: model, absent: names)
            table.shrinkIfOversized(atLeast: 16)
            Self.check(table, against: model, absent: names)
        }
    }

    /// Two names whose 32-bit tags (the bits the index keeps) are equal:
    /// each is found as itself, whichever is added first and whichever
    /// is removed, also when the index grows and shrinks around them.
    @Test func namesWithEqualTagsStayApart() throws {
        func tag(_ name: LockName) -> UInt32 { UInt32(truncatingIfNeeded: name._rawHashValue(seed: 1)) }
        var byTag: [UInt32: LockName] = [:]
        var pair: (LockName, LockName)?
        var index = 0
        while pair == nil, index < 2_000_000 {
            let name = try LockName("review16-tag-\(index)")
            if let other = byTag.updateValue(name, forKey: tag(name)), other != name { pair = (other, name) }
            index += 1
        }
        let (first, second) = try #require(pair)
        #expect(tag(first) == tag(second))
        let filler = try (0..<100).map { try LockName("review16-filler-\($0)") }
        for order in [(first, second), (second, first)] {
            var table = InMemoryRecordTable()
            var model: [LockName: Int64] = [:]
            var mark: Int64 = 0
            func add(_ name: LockName) {
                mark += 1
                table[table.placeAdding(name)].keptUntilMs = mark
                model[name] = mark
            }
            add(order.0)
            add(order.1)
            Self.check(table, against: model, absent: [first, second])
            // Grown around them (the index rebuilt from the tags alone).
            for name in filler { add(name) }
            Self.check(table, against: model, absent: [first, second] + filler)
            // The first one added goes: the other is still found, as itself.
            table.remove(at: try #require(table.place(of: order.0)))
            model[order.0] = nil
            Self.check(table, against: model, absent: [first, second] + filler)
            add(order.0)
            // The fillers swept, the table shrunk: both still found.
            let keep = Set([model[first]!, model[second]!])
            table.removeAll { !keep.contains($0.keptUntilMs) } handing: { _ in }
            for name in filler { model[name] = nil }
            table.shrinkIfOversized(atLeast: 1)
            Self.check(table, against: model, absent: [first, second] + filler)
            table.remove(at: try #require(table.place(of: order.1)))
            model[order.1] = nil
            Self.check(table, against: model, absent: [first, second] + filler)
        }
    }
}
