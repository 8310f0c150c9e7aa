/// A set of lock names written the way an auth file grants them:
/// `orders` is that one name, `billing:*` every name that starts with
/// `billing:` (never `billing` itself, never `billing2:x`), `*` every name.
///
/// A pattern means exactly what it says: `*` may only end it, and what
/// comes before is compared byte for byte.
///
/// ```swift
/// let pattern = try #require(LockNamePattern("billing:*"))
/// pattern.matches("billing:eu:7")   // true
/// pattern.matches("billing")        // false
/// ```
public enum LockNamePattern: Hashable, Sendable, CustomStringConvertible {
    /// One name.
    case exact(LockName)
    /// Every name starting with this text; `""` is every name (`*`).
    case prefix(String)

    /// Every name: `*`.
    public static let all = LockNamePattern.prefix("")

    /// Reads a pattern; nil when `text` is neither a lock name nor a lock
    /// name's beginning followed by one `*`.
    public init?(_ text: String) {
        if text.utf8.last == UInt8(ascii: "*") {
            let prefix = String(text.utf8.dropLast())
            // A prefix as long as the longest name would match nothing but itself.
            guard let prefix, prefix.utf8.count < LockName.maxLength, LockName.isValidPrefix(prefix) else { return nil }
            self = .prefix(prefix)
        } else {
            guard let name = try? LockName(text) else { return nil }
            self = .exact(name)
        }
    }

    /// Whether `name` is in the set. Takes the name as sent (not yet
    /// validated): a pattern's bytes are all name bytes, so text that is not
    /// a name matches only a prefix it starts with, and is refused later.
    @inlinable
    public func matches(_ name: String) -> Bool {
        switch self {
        case .exact(let exact): name.utf8.elementsEqual(exact.value.utf8)
        case .prefix(let prefix): name.utf8.starts(with: prefix.utf8)
        }
    }

    /// Whether every name `other` matches, this pattern matches too.
    public func covers(_ other: LockNamePattern) -> Bool {
        switch (self, other) {
        case (.prefix(let prefix), .prefix(let otherPrefix)): otherPrefix.utf8.starts(with: prefix.utf8)
        case (.prefix, .exact(let name)): matches(name.value)
        case (.exact(let name), .exact(let otherName)): name == otherName
        case (.exact, .prefix): false
        }
    }

    /// The pattern as written: `orders`, `billing:*`, `*`.
    public var description: String {
        switch self {
        case .exact(let name): name.value
        case .prefix(let prefix): prefix + "*"
        }
    }
}

/// The names a list of patterns covers, kept in a normal form: sorted by
/// how they are written, none covered by another — so no name is matched
/// twice, which a listing over the set relies on.
///
/// ```swift
/// let readable = LockNameSet([.prefix("billing:"), .exact(try LockName("billing:eu"))])
/// readable.patterns   // [billing:*]: billing:eu is among its names already
/// ```
public struct LockNameSet: Hashable, Sendable, CustomStringConvertible {
    /// The patterns, sorted by their text, none covering another.
    public let patterns: [LockNamePattern]

    /// No name at all.
    public static let none = LockNameSet([])
    /// Every name.
    public static let all = LockNameSet([.all])

    /// The names any of `patterns` matches.
    public init(_ patterns: some Sequence<LockNamePattern>) {
        let given = Set(patterns)
        let kept = given.filter { pattern in !given.contains { $0 != pattern && $0.covers(pattern) } }
        self.patterns = kept.sorted { $0.description.utf8.lexicographicallyPrecedes($1.description.utf8) }
    }

    /// Whether no name is in the set.
    public var isEmpty: Bool { patterns.isEmpty }

    /// Whether the set is every name.
    public var isAll: Bool { patterns == [.all] }

    /// Whether `name` (as sent, see ``LockNamePattern/matches(_:)``) is in the set.
    @inlinable
    public func contains(_ name: String) -> Bool {
        for pattern in patterns where pattern.matches(name) { return true }
        return false
    }

    /// The patterns, comma-separated, as written.
    public var description: String { patterns.map(\.description).joined(separator: ", ") }
}
