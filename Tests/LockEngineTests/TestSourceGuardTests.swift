import Foundation
import Testing

/// No `#expect` or `#require` in the tests takes an `eventually` call as its
/// argument, because Swift 6.3.1 can give that call's closure the symbol of a
/// later same-typed closure so one condition silently runs for both (see the
/// note on `eventually` in Tests/LockdTestSupport/Eventually.swift).
@Suite struct TestSourceGuardTests {
    /// The package's `Tests/` directory, found from this file's path.
    static let testsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()

    /// The lines (from 1) of `text` where a `#expect`/`#require` argument
    /// starts with `await eventually` or `try await eventually`, whitespace
    /// and newlines after the parenthesis allowed.
    static func macroWrappedWaits(in text: String) throws -> [Int] {
        let pattern = try Regex(#"#(?:expect|require)\(\s*(?:try\s+)?await\s+eventually\b"#)
        return text.matches(of: pattern).map { match in
            text[..<match.range.lowerBound].reduce(1) { line, character in character == "\n" ? line + 1 : line }
        }
    }

    @Test func theMatcherFindsEachFormAndPassesTheSafeOne() throws {
        // Split so that this file does not match itself.
        let expect = "#" + "expect(", require = "#" + "require("
        #expect(try Self.macroWrappedWaits(in: expect + "await eventually { true })") == [1])
        #expect(try Self.macroWrappedWaits(in: "let a = 1\n" + require + "try await eventually(within: .seconds(1)) { true })") == [2])
        #expect(try Self.macroWrappedWaits(in: "\n\n" + expect + "\n    try await eventually {\n        true\n    }, \"why\")") == [3])
        #expect(try Self.macroWrappedWaits(in: "let queued = await eventually { true }\n" + expect + "queued)").isEmpty)
    }

    @Test func noTestWaitsInsideAnExpectation() throws {
        let base = Self.testsDirectory.standardizedFileURL.path + "/"
        let files = (FileManager.default.enumerator(at: Self.testsDirectory, includingPropertiesForKeys: nil)?.allObjects ?? [])
            .compactMap { ($0 as? URL)?.standardizedFileURL }
            .filter { $0.pathExtension == "swift" }
        // The guard guards nothing if it is looking in the wrong place.
        #expect(files.count > 100, "\(files.count) Swift files under \(base)")
        var sites: [String] = []
        for file in files {
            let text = try String(contentsOf: file, encoding: .utf8)
            let path = file.path.hasPrefix(base) ? "Tests/" + file.path.dropFirst(base.count) : file.path
            sites += try Self.macroWrappedWaits(in: text).map { "\(path):\($0)" }
        }
        #expect(sites.isEmpty, "wait into a let, then #expect it (see Eventually.swift): \(sites.sorted().joined(separator: ", "))")
    }
}
