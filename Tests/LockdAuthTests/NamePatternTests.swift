import LockEngine
import Testing

@Suite struct NamePatternTests {
    @Test(arguments: [
        ("billing:*", "billing:7", true), ("billing:*", "billing:eu:7", true), ("billing:*", "billing:", true),
        ("billing:*", "billing", false), ("billing:*", "billing2:x", false), ("billing:*", "xbilling:7", false),
        ("orders", "orders", true), ("orders", "orders2", false), ("orders", "order", false), ("orders", "orders:1", false),
        ("*", "anything", true), ("*", "a", true),
        ("bill*", "billing:7", true), ("bill*", "bil", false),
    ])
    func matchesExactlyAsWritten(_ pattern: String, _ name: String, _ expected: Bool) throws {
        let parsed = try #require(LockNamePattern(pattern))
        #expect(parsed.matches(name) == expected)
        #expect(parsed.description == pattern)
    }

    @Test(arguments: ["", "**", "bil*ing", "*billing", "billing:**", "with space*", "ümlaut", "a/b", String(repeating: "x", count: 256)])
    func refusesWhatIsNotAPattern(_ text: String) {
        #expect(LockNamePattern(text) == nil)
    }

    @Test func aSetKeepsNoPatternAnotherCovers() throws {
        let set = LockNameSet(try ["billing:eu", "billing:*", "orders", "billing:*", "bill*"].map { try #require(LockNamePattern($0)) })
        #expect(set.description == "bill*, orders")
        #expect(set.contains("billing:eu:3") && set.contains("orders") && !set.contains("orders:1"))
        #expect(LockNameSet([.all, .exact(try LockName("x"))]).isAll)
        #expect(LockNameSet.none.isEmpty && !LockNameSet.none.contains("x"))
    }
}
