#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One array per thread that a `Lock-Token` of 33–128 characters is
/// copied into, handed out and used again once no token holds it: a
/// release or renewal with a long client token then makes no array of its
/// own, nor frees one after (an array made for each cost ~0.16 k
/// instructions: its allocation, its free, its storage's deinit).
///
/// As ``ThreadBodyBuffer``, whose pattern this is: a token handed out
/// shares the thread's array, as any copy of an array does; the thread
/// writes into it again only when nothing else holds it, and otherwise
/// (a token kept — a promised release waiting for its reply, a lease
/// renewed with it) takes a fresh array and leaves that one to its holders.
/// No token handed out ever changes. Its own key, not the body array's: a
/// grant's body and a token are alive at once.
enum ThreadTokenBytes {
    /// An array of `source`'s bytes, in the calling thread's array when it
    /// is free (see above).
    @inline(__always)
    static func bytes(copying source: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        let bytes = forThisThread()
        bytes.pointee.replaceSubrange(bytes.pointee.startIndex..<bytes.pointee.endIndex, with: source)
        return bytes.pointee
    }

    /// Each thread's array, reached through its key (see ``ThreadBodyBuffer``).
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
