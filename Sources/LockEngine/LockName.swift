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
        var text = text
        // Through `withUTF8`: a String's view read byte by byte is several times slower.
        let (count, valid, textHash) = text.withUTF8 { utf8 in
            let (valid, hash) = Self.scan(utf8)
            return (utf8.count, valid, hash)
        }
        guard count > 0 else { throw .invalidRequest("lock name is empty") }
        guard count <= Self.maxLength else {
            throw .invalidRequest("lock name is \(count) bytes; the limit is \(Self.maxLength)")
        }
        guard count > 2 || !text.utf8.allSatisfy({ $0 == UInt8(ascii: ".") }) else {
            throw .invalidRequest("lock name cannot be '.' or '..'")
        }
        guard valid else { throw .invalidRequest("lock name may contain only A-Z a-z 0-9 . _ : -") }
        self.value = text
        self.textHash = textHash
    }

    /// Whether every byte of `utf8` is a name byte, and the bytes' keyed
    /// hash, in one pass eight bytes at a time: each word checked by
    /// SWAR comparisons and fed to SipHash-1-3 (``SipHash13``) — a byte at
    /// a time through `allSatisfy`, then `Hasher`'s init, `combine(bytes:)`
    /// and `finalize()`, cost a name ~0.45 k instructions. The hash is
    /// `Hasher`'s algorithm under a key drawn from `Hasher` itself
    /// (``hashKey``): random per process, so names chosen to collide are as
    /// hard to find as with `Hasher`.
    /// (Inline in ``init(_:)``: a call of its own, its frame and the
    /// registers it saved cost a name ~15 instructions.)
    @inline(__always)
    static func scan(_ utf8: UnsafeBufferPointer<UInt8>, key: (UInt64, UInt64) = hashKey) -> (valid: Bool, hash: Int) {
        guard let base = utf8.baseAddress else { return (true, 0) }  // empty: refused by the caller
        let raw = UnsafeRawPointer(base)
        var sip = SipHash13(key: key)
        var invalid: UInt64 = 0
        let whole = utf8.count & ~7
        var offset = 0
        while offset < whole {
            let word = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
            invalid |= Self.invalidBytes(word)
            sip.compress(word)
            offset += 8
        }
        // The last 0–7 bytes, low byte first (the rest zero): past a whole
        // word, the last eight bytes loaded at once and shifted down; the
        // checked word has name bytes (`a`) where the name has none.
        let left = UInt64(truncatingIfNeeded: utf8.count &- whole)
        var tail: UInt64 = 0
        if left > 0, whole > 0 {
            tail = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: utf8.count &- 8, as: UInt64.self)) &>> ((8 &- left) &* 8)
        } else {
            var shift: UInt64 = 0
            while offset < utf8.count {
                tail |= UInt64(base[offset]) &<< shift
                shift &+= 8
                offset &+= 1
            }
        }
        invalid |= Self.invalidBytes(tail | 0x6161_6161_6161_6161 &<< (left &* 8))
        return (invalid == 0, Int(truncatingIfNeeded: sip.finalize(tail: tail, count: utf8.count)))
    }

    /// The high bit of each byte of `word` that is no name byte
    /// (`[A-Za-z0-9._:-]`), as ``isNameByte(_:)`` says; zero when all are.
    /// Eight bytes at once, by ``ByteLanes``' comparisons.
    @inline(__always)
    static func invalidBytes(_ word: UInt64) -> UInt64 {
        let ascii = word & ~ByteLanes.high
        // `-` `.` `/` `0`–`9` `:` but `/`; letters of either case (bit 5 set: a–z); `_`.
        let punctuationAndDigits = ByteLanes.atLeast(ascii, 0x2D) & ByteLanes.atMost(ascii, 0x3A) & ~ByteLanes.equal(ascii, 0x2F)
        let lower = ascii | 0x2020_2020_2020_2020
        let letters = ByteLanes.atLeast(lower, 0x61) & ByteLanes.atMost(lower, 0x7A)
        let valid = (punctuationAndDigits | letters | ByteLanes.equal(ascii, 0x5F)) & ~word
        return ~valid & ByteLanes.high
    }

    /// The key of names' hashes: two words of `Hasher`'s own, drawn once
    /// (random per process, or fixed when `SWIFT_DETERMINISTIC_HASHING` is set).
    static let hashKey: (UInt64, UInt64) = {
        var first = Hasher()
        first.combine(0x6C6F_636B_6E61_6D65 as UInt64)
        var second = Hasher()
        second.combine(0x6B65_7973_6563_6F6E as UInt64)
        return (UInt64(UInt(bitPattern: first.finalize())), UInt64(UInt(bitPattern: second.finalize())))
    }()

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
