import Foundation

/// Lease tokens the client makes itself, so that an acquire can be retried (and
/// a cancelled one cleaned up) with the same token.
enum LeaseToken {
    /// 128 bits from the system CSPRNG, base64url without padding: 22 characters.
    static func random() -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes = [UInt8]()
        bytes.reserveCapacity(16)
        for _ in 0..<2 {
            withUnsafeBytes(of: generator.next() as UInt64) { bytes.append(contentsOf: $0) }
        }
        return Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
