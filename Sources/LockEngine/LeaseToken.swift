/// A lease's secret: only its holder knows it, and renew and release must
/// present it.
///
/// Server-made tokens carry 192 bits from the system CSPRNG, written as
/// base64url without padding. Clients may choose their own (22–128 characters
/// of `[A-Za-z0-9_-]`) to make acquire retry-safe. `description` never shows
/// the token, so interpolating one into a log line leaks nothing.
public struct LeaseToken: Hashable, Sendable, CustomStringConvertible {
    /// The token's text. Never log it.
    public let value: String

    /// Validates a client-presented token.
    /// - Throws: ``LockError/invalidRequest(_:)`` when it is malformed.
    public init(_ text: String) throws(LockError) {
        var text = text
        // Through `withUTF8`: `utf8.allSatisfy` walks a String's view byte
        // by byte, several times slower (on every renew and release).
        guard (22...128).contains(text.utf8.count), text.withUTF8({ $0.allSatisfy(Self.isTokenByte) }) else {
            throw .invalidRequest("a lease token is 22–128 characters of A-Z a-z 0-9 _ -")
        }
        self.value = text
    }

    private init(unchecked text: String) { self.value = text }

    /// A fresh token of 192 random bits.
    public static func random() -> LeaseToken {
        // From a pool filled 4 KiB at a time: `SystemRandomNumberGenerator`
        // asks the kernel once per 8 bytes, `arc4random_buf` once per call.
        var bytes: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &bytes) { EntropyPool.shared.fill($0) }
        return LeaseToken(unchecked: withUnsafeBytes(of: &bytes) { Base64URL.encode($0) })
    }

    /// Compares in time independent of where the tokens differ, so response
    /// timing reveals nothing about a stored token (only how long the
    /// shorter one is). Reads both texts in place, eight bytes at a time
    /// (copied into arrays and compared byte by byte, a release's two
    /// comparisons cost ~1 k instructions).
    public static func == (lhs: LeaseToken, rhs: LeaseToken) -> Bool {
        var left = lhs.value
        var right = rhs.value
        return left.withUTF8 { left in
            right.withUTF8 { right in
                var difference = UInt64(truncatingIfNeeded: left.count ^ right.count)
                let common = min(left.count, right.count)
                var index = 0
                if let leftBase = left.baseAddress, let rightBase = right.baseAddress {
                    let leftBytes = UnsafeRawPointer(leftBase), rightBytes = UnsafeRawPointer(rightBase)
                    while common - index >= 8 {
                        difference |= leftBytes.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                            ^ rightBytes.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                        index += 8
                    }
                }
                while index < common {
                    difference |= UInt64(left[index] ^ right[index])
                    index += 1
                }
                return difference == 0
            }
        }
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(value) }

    public var description: String { "<redacted token>" }

    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
            true
        default:
            false
        }
    }
}

/// Base64url without padding (RFC 4648 §5).
enum Base64URL {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    static func encode(_ bytes: UnsafeRawBufferPointer) -> String {
        alphabet.withUnsafeBufferPointer { alphabet in
            String(unsafeUninitializedCapacity: (bytes.count * 4 + 2) / 3) { output in
                var written = 0
                var index = 0
                // Whole groups: 3 bytes → 4 characters.
                while bytes.count - index >= 3 {
                    let word = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
                    output[written] = alphabet[Int(word >> 18)]
                    output[written + 1] = alphabet[Int(word >> 12 & 0x3F)]
                    output[written + 2] = alphabet[Int(word >> 6 & 0x3F)]
                    output[written + 3] = alphabet[Int(word & 0x3F)]
                    written += 4
                    index += 3
                }
                // A last 1 or 2 bytes → 2 or 3 characters, no padding.
                let rest = bytes.count - index
                if rest > 0 {
                    let word = UInt32(bytes[index]) << 16 | (rest == 2 ? UInt32(bytes[index + 1]) << 8 : 0)
                    for position in 0...rest {
                        output[written] = alphabet[Int((word >> (18 - 6 * position)) & 0x3F)]
                        written += 1
                    }
                }
                return written
            }
        }
    }
}
