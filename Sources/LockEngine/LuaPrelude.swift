/// A Lua prelude of helper functions, written once and split into its
/// top-level functions, so that each script carries only the ones it calls,
/// directly or through another (``script(_:)``).
///
/// Defining a function is not free: Redis runs a cached script's whole text
/// on every call, and each `local function` makes a closure, ~1.2 µs a call
/// for all of ``RedisLockScripts/prelude``'s. What a script needs is found by
/// scanning its text, so a new call can never be left without its function.
///
/// The prelude's shape: lines before its first `local function` (at the line's
/// start) are kept in every script; each function runs from the comment
/// lines right above its `local function` line to the next function's. A
/// function may call only functions above it (Lua resolves a name it has not
/// seen declared as a global), which scripts keep: they list the functions
/// in the prelude's order.
///
/// ```swift
/// let prelude = LuaPrelude("""
///     local function num(x) return string.format('%d', x) end
///     local function retain(key, ms) redis.call('PEXPIRE', key, num(ms)) end
///     """)
/// prelude.script("retain(KEYS[1], 5000)")  // both functions, then the body
/// ```
struct LuaPrelude: Sendable {
    /// One top-level function: its name, its text (with the comment above
    /// it) and the prelude functions its text names.
    struct Function: Sendable {
        let name: String
        let text: String
        let calls: Set<String>
    }

    /// The lines before the first function, kept in every script.
    let head: String
    /// The functions, in the prelude's order.
    let functions: [Function]

    /// Splits `text` into its head and its functions.
    init(_ text: String) {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        // Where each function's chunk starts: its comment lines, then `local function`.
        var starts: [(line: Int, name: String)] = []
        for (index, line) in lines.enumerated() where line.hasPrefix("local function ") {
            let name = line.dropFirst("local function ".count).prefix { $0 != "(" && $0 != " " }
            var start = index
            while start > 0, lines[start - 1].hasPrefix("--") { start -= 1 }
            starts.append((start, String(name)))
        }
        func join(_ range: Range<Int>) -> String { lines[range].joined(separator: "\n") + "\n" }
        head = join(0..<(starts.first?.line ?? lines.count))
        let names = Set(starts.map(\.name))
        functions = starts.indices.map { i in
            let end = i + 1 < starts.count ? starts[i + 1].line : lines.count
            let text = join(starts[i].line..<end)
            return Function(name: starts[i].name, text: text, calls: LuaPrelude.identifiers(in: text).intersection(names))
        }
    }

    /// The names of the prelude functions `body` needs: the ones it names,
    /// and the ones those name, and so on.
    func needed(by body: String) -> Set<String> {
        let calls = Dictionary(uniqueKeysWithValues: functions.map { ($0.name, $0.calls) })
        var needed = Set<String>()
        var pending = Array(Self.identifiers(in: body).filter { calls[$0] != nil })
        while let name = pending.popLast() {
            guard needed.insert(name).inserted else { continue }
            pending += calls[name, default: []].subtracting(needed)
        }
        return needed
    }

    /// `body` after the head and the functions it needs, in the prelude's order.
    func script(_ body: String) -> String {
        let needed = needed(by: body)
        return head + functions.filter { needed.contains($0.name) }.map(\.text).joined() + body
    }

    /// The identifiers named in Lua `text`, outside strings and comments.
    /// (A long string or comment, `[[…]]`, is read as code: at worst a
    /// script then carries a function it does not call.)
    static func identifiers(in text: String) -> Set<String> {
        var found = Set<String>()
        let bytes = Array(text.utf8)
        var i = 0
        func isWordStart(_ byte: UInt8) -> Bool { byte == UInt8(ascii: "_") || (byte | 0x20 >= UInt8(ascii: "a") && byte | 0x20 <= UInt8(ascii: "z")) }
        func isWord(_ byte: UInt8) -> Bool { isWordStart(byte) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) }
        while i < bytes.count {
            let byte = bytes[i]
            if byte == UInt8(ascii: "-"), i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "-") {
                while i < bytes.count, bytes[i] != UInt8(ascii: "\n") { i += 1 }
            } else if byte == UInt8(ascii: "'") || byte == UInt8(ascii: "\"") {
                i += 1
                while i < bytes.count, bytes[i] != byte, bytes[i] != UInt8(ascii: "\n") {
                    i += bytes[i] == UInt8(ascii: "\\") ? 2 : 1
                }
                i += 1
            } else if isWordStart(byte) {
                let start = i
                while i < bytes.count, isWord(bytes[i]) { i += 1 }
                found.insert(String(decoding: bytes[start..<i], as: UTF8.self))
            } else if isWord(byte) {
                // A number's digits and letters (`1e5`, `0x1f`) name nothing.
                while i < bytes.count, isWord(bytes[i]) { i += 1 }
            } else {
                i += 1
            }
        }
        return found
    }
}
