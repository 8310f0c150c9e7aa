#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One array per thread that response bodies are copied into, handed out
/// and used again once every response holding it is gone: a lease's body
/// (every grant) is then no allocation of its own, nor a free when its
/// response is destroyed (an array made for each body, and freed after it
/// was written, cost a grant ~0.3 k instructions).
///
/// A body handed out shares the thread's array, as any copy of an array
/// does: the thread empties and fills it again only when nothing else
/// holds it (the server has written and dropped the response, as it has
/// for an answer given in place before it reads the next request);
/// otherwise — a response still queued, a body kept by a caller — the
/// thread takes a fresh array and leaves that one to its holders. No body
/// handed out ever changes.
enum ThreadBodyBuffer {
    /// An array of `source`'s bytes, in the calling thread's array when it
    /// is free (see above).
    ///
    /// The whole array is replaced by `source` in one call: in place, at
    /// its capacity, when no one else holds it; else into a fresh array
    /// (emptied first and then appended to, it cost ~0.1 k instructions
    /// more a body).
    @inline(__always)
    static func body(copying source: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        let bytes = forThisThread()
        bytes.pointee.replaceSubrange(bytes.pointee.startIndex..<bytes.pointee.endIndex, with: source)
        return bytes.pointee
    }

    /// Each thread's array lives in memory of its own, reached through its
    /// key: held in a class's stored property, each use was checked for
    /// exclusive access at run time (~0.12 k instructions a body).
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        let result = pthread_key_create(&key) { bytes in
            guard let bytes else { return }
            let array = bytes.assumingMemoryBound(to: [UInt8].self)
            array.deinitialize(count: 1)
            array.deallocate()
        }
        precondition(result == 0, "pthread_key_create failed: \(result)")
        return key
    }()

    /// The calling thread's array, made on first use. Only this thread
    /// ever reaches it (its key is the thread's), and it lives until the
    /// thread ends, when the key's destructor frees it.
    @inline(__always)
    private static func forThisThread() -> UnsafeMutablePointer<[UInt8]> {
        if let bytes = pthread_getspecific(key) { return bytes.assumingMemoryBound(to: [UInt8].self) }
        return made()
    }

    @inline(never)
    private static func made() -> UnsafeMutablePointer<[UInt8]> {
        let bytes = UnsafeMutablePointer<[UInt8]>.allocate(capacity: 1)
        bytes.initialize(to: [])
        pthread_setspecific(key, bytes)
        return bytes
    }
}
