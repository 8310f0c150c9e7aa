#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One byte array per thread that bytes are copied into, handed out and
/// used again once nothing holds it: a copy per request is then no
/// allocation of its own, nor a free after (``ThreadBodyBuffer``'s bodies,
/// ``ThreadTokenBytes``' tokens).
///
/// What is handed out shares the thread's array, as any copy of an array
/// does: the thread writes into it again only when nothing else holds it,
/// and otherwise takes a fresh array and leaves that one to its holders.
/// Nothing handed out ever changes.
struct ThreadByteArray: Sendable {
    /// Each thread's array lives in memory of its own, reached through this
    /// key: held in a class's stored property, each use was checked for
    /// exclusive access at run time (~0.12 k instructions a body).
    private let key: pthread_key_t

    /// A new key: an array per thread, apart from every other one's.
    init() {
        var key = pthread_key_t()
        let result = pthread_key_create(&key) { bytes in
            guard let bytes else { return }
            let array = bytes.assumingMemoryBound(to: [UInt8].self)
            array.deinitialize(count: 1)
            array.deallocate()
        }
        precondition(result == 0, "pthread_key_create failed: \(result)")
        self.key = key
    }

    /// An array of `source`'s bytes, in the calling thread's array when it
    /// is free (see above).
    ///
    /// The whole array is replaced by `source` in one call: in place, at
    /// its capacity, when no one else holds it; else into a fresh array
    /// (emptied first and then appended to, it cost ~0.1 k instructions
    /// more a body).
    @inline(__always)
    func copying(_ source: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        let bytes = forThisThread()
        bytes.pointee.replaceSubrange(bytes.pointee.startIndex..<bytes.pointee.endIndex, with: source)
        return bytes.pointee
    }

    /// The calling thread's array, made on first use. Only this thread
    /// ever reaches it (its key is the thread's), and it lives until the
    /// thread ends, when the key's destructor frees it.
    @inline(__always)
    private func forThisThread() -> UnsafeMutablePointer<[UInt8]> {
        if let bytes = pthread_getspecific(key) { return bytes.assumingMemoryBound(to: [UInt8].self) }
        return made()
    }

    @inline(never)
    private func made() -> UnsafeMutablePointer<[UInt8]> {
        let bytes = UnsafeMutablePointer<[UInt8]>.allocate(capacity: 1)
        bytes.initialize(to: [])
        pthread_setspecific(key, bytes)
        return bytes
    }
}
