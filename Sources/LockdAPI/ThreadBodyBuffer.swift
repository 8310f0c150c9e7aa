/// One array per thread that response bodies are copied into, handed out
/// and used again once every response holding it is gone: a lease's body
/// (every grant) is then no allocation of its own, nor a free when its
/// response is destroyed (an array made for each body, and freed after it
/// was written, cost a grant ~0.3 k instructions).
///
/// The thread fills its array again only when the server has written and
/// dropped the response, as it has for an answer given in place before it
/// reads the next request; a response still queued, or a body kept by a
/// caller, keeps its own (``ThreadByteArray``).
enum ThreadBodyBuffer {
    private static let array = ThreadByteArray()

    /// An array of `source`'s bytes, in the calling thread's array when it
    /// is free.
    @inline(__always)
    static func body(copying source: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        array.copying(source)
    }
}
