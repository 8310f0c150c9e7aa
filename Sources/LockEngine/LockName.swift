/// A validated lock name: 1–255 bytes of `[A-Za-z0-9._:-]`, not `.` or `..`.
///
/// Names are case-sensitive; `:` separates levels of a hierarchy
/// (`orders:4711`). The allowed bytes never need escaping in a Redis key, a
/// glob pattern or a URL path.
///
/// ```swift
/// let name = try LockName("orders:4711")
/// ```
public struct LockName: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The name's text.
    public let value: String
    /// The text's hash, computed once: a request's name is looked up in
    /// several tables (the store's records, the lease ledger, the waiters),
    /// and those tables rehash their keys as they grow or shift. Hashing an
    /// `Int` instead of the text also spares reading the text's storage
    /// (a cache miss in a table of 100 000 names).
    private let textHash: Int

    /// The longest name, in bytes.
    public static let maxLength = 255

    /// Validates `text` as a lock name.
    /// - Throws: ``LockError/invalidRequest(_:)`` saying what is wrong.
    public init(_ text: String) throws(LockError) {
        let bytes = text.utf8
        guard !bytes.isEmpty else { throw .invalidRequest("lock name is empty") }
        guard bytes.count <= Self.maxLength else {
            throw .invalidRequest("lock name is \(bytes.count) bytes; the limit is \(Self.maxLength)")
        }
        var text = text
        // Through `withUTF8`: `utf8.allSatisfy` walks a String's view byte by byte, several times slower.
        // Hashed as bytes, which a name's ASCII is: cheaper than `String`'s hash, and as much `Hasher`'s
        // seeded SipHash (names chosen to collide stay as hard to find).
        let (valid, onlyDots, textHash) = text.withUTF8 { utf8 -> (Bool, Bool, Int) in
            guard utf8.allSatisfy(Self.isNameByte) else { return (false, false, 0) }
            var hasher = Hasher()
            hasher.combine(bytes: UnsafeRawBufferPointer(utf8))
            return (true, utf8.count <= 2 && utf8.allSatisfy { $0 == UInt8(ascii: ".") }, hasher.finalize())
        }
        guard !onlyDots else { throw .invalidRequest("lock name cannot be '.' or '..'") }
        guard valid else { throw .invalidRequest("lock name may contain only A-Z a-z 0-9 . _ : -") }
        self.value = text
        self.textHash = textHash
    }

    /// Whether both are the same text.
    public static func == (lhs: LockName, rhs: LockName) -> Bool {
        // Unequal hashes settle most comparisons without reading either text.
        lhs.textHash == rhs.textHash && lhs.value == rhs.value
    }

    /// Feeds the text's hash, computed once, to `hasher`.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(textHash)
    }

    /// Where a table keyed by names (the store's records, the lease ledger,
    /// the waiters) places this one: the text's hash mixed with the
    /// table's seed by splitmix64's finalizer, not by a `Hasher` fed the
    /// hash (a SipHash round and finalization, ~100 instructions a lookup,
    /// four lookups an acquire→release cycle in memory). The text's hash is
    /// already `Hasher`'s seeded SipHash of the bytes, unknown outside the
    /// process, so names chosen to collide are as hard to find; the mix is
    /// a bijection that spreads every bit of it and of the seed over the
    /// low bits a table uses, so tables with different seeds place names
    /// unrelatedly (copying one into another stays linear).
    public func _rawHashValue(seed: Int) -> Int {
        var mixed = UInt64(UInt(bitPattern: textHash)) &+ UInt64(UInt(bitPattern: seed)) &* 0x9E37_79B9_7F4A_7C15
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int(Int64(bitPattern: mixed ^ (mixed >> 31)))
    }

    /// Whether `prefix` could begin a name (empty, or name bytes only).
    public static func isValidPrefix(_ prefix: String) -> Bool {
        prefix.utf8.count <= maxLength && prefix.utf8.allSatisfy(isNameByte)
    }

    static func isNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: ":"), UInt8(ascii: "-"):
            true
        default:
            false
        }
    }

    public var description: String { value }

    public static func < (lhs: LockName, rhs: LockName) -> Bool {
        lhs.value.utf8.lexicographicallyPrecedes(rhs.value.utf8)
    }

    /// Whether the name starts with `prefix`, compared as bytes: names are
    /// ASCII, and this is several times cheaper than `String.hasPrefix`
    /// (asked twice per lock request while anyone watches events).
    public func starts(with prefix: String) -> Bool {
        value.utf8.starts(with: prefix.utf8)
    }
}
