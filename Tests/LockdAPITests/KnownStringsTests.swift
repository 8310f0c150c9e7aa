import Testing

@testable import LockdAPI

/// Route and method names are found first by their representation, then by
/// `==`: a string equal to a known one but built apart (other words: a heap
/// copy, a string from bytes) is found all the same, and no other string is.
@Suite struct KnownStringsTests {
    private static let names = ["acquire", "renew", "release", "status", "holder", "list", "healthz", "readyz", "metrics",
                                "openapi", "events", "page", "a-route-name-longer-than-fifteen-bytes", "none", "", "é"]

    @Test func everyNameIsFoundWhetherItsWordsMatchOrNot() {
        let table = KnownStrings(Self.names)
        for (index, name) in Self.names.enumerated() {
            #expect(table.index(of: name) == index, "\(name)")
            // Built from its bytes: a long one is another object, so its words differ.
            let rebuilt = String(decoding: Array(name.utf8), as: UTF8.self)
            #expect(table.index(of: rebuilt) == index, "\(name) rebuilt")
            // A substring's copy, and a bridged-looking composition.
            #expect(table.index(of: String(("x" + name).dropFirst())) == index, "\(name) composed")
        }
    }

    @Test func otherStringsAreNotFound() {
        let table = KnownStrings(Self.names)
        for other in ["Acquire", "acquir", "acquire ", "healthz2", "a-route-name-longer-than-fifteen-byte", "e\u{301}", "PAGE"] {
            #expect(table.index(of: other) == nil, "\(other)")
        }
    }

    @Test func theFirstOfEqualNamesIsFound() {
        #expect(KnownStrings(["a", "b", "a"]).index(of: "a") == 0)
        #expect(KnownStrings(["long-name-for-a-route-x", "long-name-for-a-route-x"]).index(of: String(decoding: Array("long-name-for-a-route-x".utf8), as: UTF8.self)) == 0)
    }
}
