/// Lease tokens the client makes itself, so that an acquire can be retried (and
/// a cancelled one cleaned up) with the same token.
enum LeaseToken {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// 128 bits from the system CSPRNG, base64url without padding: 22 characters.
    static func random() -> String {
        // (Not `arc4random_buf`, one system call instead of two: glibc has it
        // only since 2.36, and the SDK builds on older Linux systems too.)
        var generator = SystemRandomNumberGenerator()
        let high = generator.next() as UInt64
        let low = generator.next() as UInt64
        return String(unsafeUninitializedCapacity: 22) { text in
            // 21 characters of 6 bits each take 126 bits; the last takes the remaining 2, shifted
            // to the top of its 6 as base64 pads them.
            for index in 0..<21 {
                let shift = 122 - 6 * index  // bit offset of this character's lowest bit in the 128
                let bits = shift >= 64 ? high >> (shift - 64) : (high << (64 - shift)) | (low >> shift)
                text[index] = alphabet[Int(truncatingIfNeeded: bits & 63)]
            }
            text[21] = alphabet[Int(truncatingIfNeeded: (low & 3) << 4)]
            return 22
        }
    }
}
