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
