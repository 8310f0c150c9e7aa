/// A waiter id as the waiter registry's key: hashed by the id's first
/// sixteen bytes only — its random hex digits (``WaiterID/random(mode:limit:)``),
/// which set one id apart from another as well as its whole text does.
/// Hashed as a `String`, an id cost every lookup its text's hash through
/// `Hasher`'s byte-wise feed (~0.2 k instructions), and each waiting
/// acquire makes two (its entry added, and removed). Keys compare by the
/// id's whole text, as ids always did: two that share their first bytes
/// only share a bucket.
struct WaiterKey: Hashable {
    let waiter: WaiterID

    init(_ waiter: WaiterID) {
        self.waiter = waiter
    }

    static func == (lhs: WaiterKey, rhs: WaiterKey) -> Bool { lhs.waiter.value == rhs.waiter.value }

    func hash(into hasher: inout Hasher) {
        let (first, second) = Self.words(of: waiter.value)
        hasher.combine(first)
        hasher.combine(second)
    }

    /// Where the registry's table places this id: its two words mixed with
    /// the table's seed by splitmix64's finalizer, not fed to a `Hasher`
    /// (two SipHash rounds and a finalization, ~0.19 k instructions a
    /// lookup, two lookups a waiting acquire). The words are lockd's own
    /// random digits (``WaiterID/random(mode:limit:)``; only ids lockd made
    /// are ever added), not a client's text, so there is nothing to choose
    /// for a collision; each round of the mix is a bijection that spreads
    /// every bit over the low bits a table uses, as
    /// ``LockName/_rawHashValue(seed:)`` does for names. Equal keys (equal
    /// texts) have equal words, so equal values.
    func _rawHashValue(seed: Int) -> Int {
        let (first, second) = Self.words(of: waiter.value)
        var mixed = first &+ UInt64(UInt(bitPattern: seed)) &* 0x9E37_79B9_7F4A_7C15
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ second ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int(Int64(bitPattern: mixed ^ (mixed >> 31)))
    }

    /// The text's first sixteen bytes as two little-endian words (zero past
    /// its end): the same for equal texts however they are stored.
    private static func words(of text: String) -> (UInt64, UInt64) {
        if let words = text.utf8.withContiguousStorageIfAvailable({ words(of: $0) }) { return words }
        return Array(text.utf8.prefix(16)).withUnsafeBufferPointer { words(of: $0) }
    }

    private static func words(of bytes: UnsafeBufferPointer<UInt8>) -> (UInt64, UInt64) {
        // Every id lockd makes has sixteen bytes or more: two loads.
        if bytes.count >= 16, let base = bytes.baseAddress {
            let raw = UnsafeRawPointer(base)
            return (UInt64(littleEndian: raw.loadUnaligned(as: UInt64.self)),
                    UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
        }
        var first: UInt64 = 0
        var second: UInt64 = 0
        for index in 0..<min(16, bytes.count) {
            if index < 8 {
                first |= UInt64(bytes[index]) << (8 * UInt64(index))
            } else {
                second |= UInt64(bytes[index]) << (8 * UInt64(index - 8))
            }
        }
        return (first, second)
    }
}
