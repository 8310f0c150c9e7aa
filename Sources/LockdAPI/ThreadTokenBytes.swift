/// One array per thread that a `Lock-Token` of 33–128 characters is
/// copied into, handed out and used again once no token holds it: a
/// release or renewal with a long client token then makes no array of its
/// own, nor frees one after (an array made for each cost ~0.16 k
/// instructions: its allocation, its free, its storage's deinit).
///
/// A token kept — a promised release waiting for its reply, a lease
/// renewed with it — keeps its own array, and the thread takes a fresh one
/// (``ThreadByteArray``). Its own array, not the bodies': a grant's body
/// and a token are alive at once.
enum ThreadTokenBytes {
    private static let array = ThreadByteArray()

    /// An array of `source`'s bytes, in the calling thread's array when it
    /// is free.
    @inline(__always)
    static func bytes(copying source: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        array.copying(source)
    }
}
