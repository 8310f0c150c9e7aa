/// One acquire attempt's identity (``AcquireAttempt/nonce``): 63 random
/// bits, so that no two attempts under one token share it.
public struct AttemptNonce: Hashable, Sendable {
    /// Never negative (a store writes it as decimal digits).
    public let value: Int64

    init(_ value: Int64) { self.value = value }

    /// A fresh nonce, from the entropy pool (no system call).
    public static func random() -> AttemptNonce {
        var number: UInt64 = 0
        withUnsafeMutableBytes(of: &number) { EntropyPool.shared.fill($0) }
        return AttemptNonce(Int64(number >> 1))
    }
}
