import Testing

@testable import LockdAPI

/// ``WordTable`` (the metering's route and method lookup) finds exactly
/// what ``KnownStrings`` finds: the same position for every name, whether
/// its words are in the table or it was built apart, none for any other
/// string, and the first of equal names.
@Suite struct WordTableTests {
    private static let names = ["acquire", "renew", "release", "status", "holder", "list", "healthz", "readyz", "metrics",
                                "openapi", "events", "page", "a-route-name-longer-than-fifteen-bytes", "none", "", "é",
                                "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]

    @Test func everyLookupAgreesWithTheScan() {
        let table = WordTable(Self.names), scan = KnownStrings(Self.names)
        var probes: [String] = []
        for name in Self.names {
            probes += [name, String(decoding: Array(name.utf8), as: UTF8.self), String(("x" + name).dropFirst())]
        }
        probes += ["Acquire", "acquir", "acquire ", "healthz2", "a-route-name-longer-than-fifteen-byte", "e\u{301}", "PAGE", "get", "x"]
        for probe in probes {
            #expect(table.index(of: probe) == scan.index(of: probe), "\(probe)")
        }
        for (index, name) in Self.names.enumerated() {
            #expect(table.index(of: name) == index, "\(name)")
        }
    }

    @Test func theFirstOfEqualNamesIsFound() {
        #expect(WordTable(["a", "b", "a"]).index(of: "a") == 0)
        #expect(WordTable(["b", "a", "a"]).index(of: "a") == 1)
        let long = "long-name-for-a-route-x"
        #expect(WordTable([long, long]).index(of: String(decoding: Array(long.utf8), as: UTF8.self)) == 0)
    }

    @Test func manyNamesSharingSlotsAreAllFound() {
        // More names than slots: some lose theirs and are found by the scan.
        let names = (0..<200).map { "route-\($0)" }
        let table = WordTable(names)
        for (index, name) in names.enumerated() { #expect(table.index(of: name) == index, "\(name)") }
        #expect(table.index(of: "route-200") == nil)
    }
}
