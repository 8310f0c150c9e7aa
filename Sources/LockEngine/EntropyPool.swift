#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Random bytes from the system CSPRNG, fetched 4 KiB at a time.
///
/// Glibc's `arc4random_buf` makes a `getrandom` system call on every call
/// (~1–2 µs of kernel time, about a tenth of an in-memory acquire), so a
/// server-made token took one call each. The pool asks once per 170 tokens;
/// every byte still comes from the kernel's CSPRNG, is handed out once and
/// zeroed as it leaves, so no two tokens share a byte. lockd never forks
/// without exec, so no child inherits the pool's unused bytes.
final class EntropyPool: Sendable {
    /// The process's pool.
    static let shared = EntropyPool()

    private struct State {
        var bytes = [UInt8](repeating: 0, count: EntropyPool.capacity)
        /// Bytes before this offset were handed out (and zeroed).
        var used = EntropyPool.capacity
    }

    private static let capacity = 4096
    private let state = Mutex(State())

    /// Fills `buffer` with fresh random bytes.
    func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        guard let target = buffer.baseAddress, buffer.count > 0 else { return }
        guard buffer.count <= Self.capacity / 4 else {
            arc4random_buf(target, buffer.count)
            return
        }
        state.withLock { state in
            state.bytes.withUnsafeMutableBytes { pool in
                guard let base = pool.baseAddress else { preconditionFailure("a non-empty array has an address") }
                if Self.capacity - state.used < buffer.count {
                    arc4random_buf(base, Self.capacity)
                    state.used = 0
                }
                let source = base + state.used
                if buffer.count == 32 {
                    // A token's 32 bytes as four words: by `memcpy` and
                    // `memset` calls, ~20 instructions more a token.
                    for offset in stride(from: 0, to: 32, by: 8) {
                        target.storeBytes(of: source.loadUnaligned(fromByteOffset: offset, as: UInt64.self), toByteOffset: offset, as: UInt64.self)
                        source.storeBytes(of: 0, toByteOffset: offset, as: UInt64.self)
                    }
                } else {
                    target.copyMemory(from: source, byteCount: buffer.count)
                    source.initializeMemory(as: UInt8.self, repeating: 0, count: buffer.count)
                }
                state.used += buffer.count
            }
        }
    }
}
