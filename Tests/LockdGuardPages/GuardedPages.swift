#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Bytes placed right against an inaccessible page, for tests of code that
/// loads through raw pointers (words at a time, unchecked even in a debug
/// build): one byte read or written outside the placed bytes faults at once,
/// where a bounds check would have missed it or an ordinary buffer would
/// have held readable garbage.
///
/// Three pages are mapped and the first and the last made inaccessible; a
/// placement goes in the middle one, against either guard. A placement's
/// buffer is valid until the next placement or until this object is freed.
public final class GuardedPages {
    /// The pages could not be mapped or protected.
    public struct MappingFailed: Error {}

    private let base: UnsafeMutableRawPointer
    private let pageSize: Int

    /// Maps the three pages.
    public init() throws {
        pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        let mapped = mmap(nil, 3 * pageSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let mapped, mapped != MAP_FAILED else { throw MappingFailed() }
        base = mapped
        guard mprotect(base, pageSize, PROT_NONE) == 0, mprotect(base + 2 * pageSize, pageSize, PROT_NONE) == 0 else {
            munmap(base, 3 * pageSize)
            throw MappingFailed()
        }
    }

    deinit { munmap(base, 3 * pageSize) }

    /// `bytes` copied so that the byte after their last is the trailing guard page's first.
    public func endingAtGuard(_ bytes: some Collection<UInt8>) -> UnsafeRawBufferPointer {
        place(bytes, at: base + 2 * pageSize - bytes.count)
    }

    /// `bytes` copied so that the byte before their first is the leading guard page's last.
    public func startingAtGuard(_ bytes: some Collection<UInt8>) -> UnsafeRawBufferPointer {
        place(bytes, at: base + pageSize)
    }

    private func place(_ bytes: some Collection<UInt8>, at start: UnsafeMutableRawPointer) -> UnsafeRawBufferPointer {
        precondition(bytes.count <= pageSize, "a placement holds at most one page")
        for (offset, byte) in bytes.enumerated() { start.storeBytes(of: byte, toByteOffset: offset, as: UInt8.self) }
        return UnsafeRawBufferPointer(start: start, count: bytes.count)
    }
}

extension UnsafeRawBufferPointer {
    /// The same bytes, typed as `UInt8`s.
    public var asBytes: UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: baseAddress?.assumingMemoryBound(to: UInt8.self), count: count)
    }
}
