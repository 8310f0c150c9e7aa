/// A few strings, found by position: first by their representation, then by `==`.
///
/// The strings looked up on a request's path are usually the very ones
/// given here — the router's route names, the server's method constants —
/// and a string's copy has the same two words. Comparing words costs a few
/// instructions a candidate, where `==` on two strings that differ calls into
/// the standard library (~25 instructions each, and a route name is found
/// among a dozen). Equal words are always equal strings; a string equal but
/// not identical (built elsewhere) is found by the `==` scan after.
struct KnownStrings: Sendable {
    private let strings: [String]
    /// Each string's two words; empty where a `String` is not two words.
    private let words: [Words]

    private struct Words: Equatable {
        let first: UInt64
        let second: UInt64
    }

    init(_ strings: [String]) {
        self.strings = strings
        words = MemoryLayout<String>.size == 16 ? strings.map(Self.words) : []
    }

    /// The position of the first string equal to `string`, or nil.
    func index(of string: String) -> Int? {
        if !words.isEmpty {
            let target = Self.words(of: string)
            if let index = words.firstIndex(of: target) { return index }
        }
        // Lengths first: most strings differ in length, and `==` on two that differ calls into the standard library.
        return strings.firstIndex { $0.utf8.count == string.utf8.count && $0 == string }
    }

    private static func words(of string: String) -> Words {
        withUnsafeBytes(of: string) { Words(first: $0.loadUnaligned(as: UInt64.self), second: $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self)) }
    }
}
