import COpenSSL

/// A SHA-256 digest: what the auth file keeps of each client's secret, and
/// what lockd computes from each bearer token it is shown.
///
/// `==` takes the same time whatever the digests hold — it never stops at
/// the first differing byte — so a client cannot learn from response times
/// how close a guess came. (Only digests are compared: a guess's digest
/// tells nothing about a stored one, so even the bucket a dictionary lookup
/// probes, which depends on the guess's digest alone, gives nothing away.)
///
/// ```swift
/// if let digest = SHA256Digest(hashing: "s3cret") {
///     print(digest.hex)   // 64 lower-case hex digits, as `sha256` in the auth file
/// }
/// ```
public struct SHA256Digest: Hashable, Sendable, CustomStringConvertible {
    // Four words rather than 32 bytes: a constant-time comparison in four
    // XORs, and a hash of two words (the digest is uniformly random already).
    private let words: (UInt64, UInt64, UInt64, UInt64)

    /// The digest of `bytes`, computed by the system's OpenSSL; nil only
    /// when OpenSSL cannot (it could not allocate).
    public init?(hashing bytes: UnsafeRawBufferPointer) {
        var digest = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        let done = withUnsafeMutableBytes(of: &digest) { output in
            var length: UInt32 = 0
            return EVP_Digest(bytes.baseAddress, bytes.count, output.baseAddress?.assumingMemoryBound(to: UInt8.self),
                              &length, Self.algorithm, nil) == 1 && length == 32
        }
        guard done else { return nil }
        self.words = digest
    }

    /// The digest of `text`'s UTF-8 bytes (how the auth file hashes a secret).
    public init?(hashing text: String) {
        var text = text
        guard let digest = text.withUTF8({ SHA256Digest(hashing: UnsafeRawBufferPointer($0)) }) else { return nil }
        self = digest
    }

    /// Reads 64 hex digits (either case); nil for anything else.
    public init?(hex: String) {
        let digits = Array(hex.utf8)
        guard digits.count == 64 else { return nil }
        var bytes = [UInt8](repeating: 0, count: 32)
        for index in 0..<32 {
            guard let high = Self.hexValue(digits[2 * index]), let low = Self.hexValue(digits[2 * index + 1]) else { return nil }
            bytes[index] = high << 4 | low
        }
        var words = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        withUnsafeMutableBytes(of: &words) { $0.copyBytes(from: bytes) }
        self.words = words
    }

    /// The digest as 64 lower-case hex digits.
    public var hex: String {
        withUnsafeBytes(of: words) { bytes in
            let digits = Array("0123456789abcdef".utf8)
            var text: [UInt8] = []
            text.reserveCapacity(64)
            for byte in bytes {
                text.append(digits[Int(byte >> 4)])
                text.append(digits[Int(byte & 0x0F)])
            }
            return String(decoding: text, as: UTF8.self)
        }
    }

    /// Never the digest itself: it is kept out of logs like the secret.
    public var description: String { "SHA256Digest(<redacted>)" }

    /// Compares all 32 bytes whatever they hold (see the type's discussion).
    public static func == (lhs: SHA256Digest, rhs: SHA256Digest) -> Bool {
        let difference = (lhs.words.0 ^ rhs.words.0) | (lhs.words.1 ^ rhs.words.1)
            | (lhs.words.2 ^ rhs.words.2) | (lhs.words.3 ^ rhs.words.3)
        return difference == 0
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
        hasher.combine(words.1)
    }

    /// SHA-256, looked up in OpenSSL's providers once: the one-shot `SHA256()`
    /// and `EVP_sha256()` look it up on every call, which costs more than the
    /// hashing. Safe to share: a `let` set once, and OpenSSL documents a
    /// fetched EVP_MD as immutable and usable from any thread at once.
    nonisolated(unsafe) private static let algorithm: OpaquePointer? = EVP_MD_fetch(nil, "SHA256", nil)

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
