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

    /// `@unchecked Sendable`: its pointer is to memory only this pool
    /// holds, allocated with it and freed in its `deinit`, and read or
    /// written only inside `state.withLock` (nothing keeps the pointer or
    /// a pointer into it past the closure): the mutex orders every access.
    private struct State: @unchecked Sendable {
        /// The pool's bytes: memory of its own, allocated once with the
        /// pool and freed with it, reached only under the lock.
        /// As an array, each fill checked it unique and lent it through a
        /// closure (~15 instructions a token).
        let bytes: UnsafeMutableRawPointer
        /// Bytes before this offset were handed out (and zeroed).
        var used = EntropyPool.capacity
    }

    private static let capacity = 4096
    private let state = Mutex(State(bytes: UnsafeMutableRawPointer.allocate(byteCount: EntropyPool.capacity, alignment: 8)))

    /// The process's pool lives as long as the process; another (a test's)
    /// gives its memory back.
    deinit {
        state.withLock { $0.bytes.deallocate() }
    }

    /// Fills `buffer` with fresh random bytes.
    func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        guard let target = buffer.baseAddress, buffer.count > 0 else { return }
        guard buffer.count <= Self.capacity / 4 else {
            arc4random_buf(target, buffer.count)
            return
        }
        state.withLock { state in
            let base = state.bytes
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
