/// Client-side check of lock names and prefixes, the same rule lockd applies.
///
/// Checked before a name goes into a URL because HTTP stacks normalise dot
/// segments: `/locks/./renew` would otherwise arrive as `/locks/renew`.
enum LockName {
    /// Throws ``LockError/invalidRequest(detail:)`` unless `name` is 1–255 bytes
    /// of `[A-Za-z0-9._:-]` and not `.` or `..`.
    static func validate(_ name: String) throws(LockError) {
        guard !name.isEmpty else {
            throw .invalidRequest(detail: "lock name is empty")
        }
        guard name != ".", name != ".." else {
            throw .invalidRequest(detail: "lock name may not be \"\(name)\"")
        }
        try validatePrefix(name)
    }

    /// Throws ``LockError/invalidRequest(detail:)`` unless `prefix` is at most
    /// 255 bytes of `[A-Za-z0-9._:-]` (the empty prefix lists every lock).
    static func validatePrefix(_ prefix: String) throws(LockError) {
        guard prefix.utf8.count <= 255 else {
            throw .invalidRequest(detail: "lock name is longer than 255 bytes")
        }
        // Through `withUTF8`: walking the `utf8` view cost ~700 instructions a name.
        var prefix = prefix
        guard prefix.withUTF8({ $0.allSatisfy(isAllowed) }) else {
            throw .invalidRequest(detail: "lock name may contain only A-Z a-z 0-9 . _ : -")
        }
    }

    private static func isAllowed(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: ":"), UInt8(ascii: "-"):
            true
        default:
            false
        }
    }
}
