import LockdTransport

/// What the server keeps per event loop: the read buffer every connection on
/// the loop reads into, the cached `Date`, the open connections and the
/// loop's listener.
final class HTTPLoopContext: @unchecked Sendable {
    // Safe to share: `loop` and `scratch` (the pointer) never change, and every
    // other property is read and written only on `loop`'s thread — by the
    // loop's event handlers, its timers and the tasks that prefer it — which
    // `assertInLoop()` checks in debug builds.

    /// The loop whose thread owns this context.
    let loop: EventLoop
    /// One large buffer for reads: a read never allocates, and requests are
    /// parsed in place unless they straddle reads.
    let scratch: UnsafeMutableRawBufferPointer
    var dates = HTTPDateCache()
    var connections: [Int32: HTTPConnection] = [:]
    var listener: HTTPListener?

    static let scratchSize = 64 * 1024

    init(loop: EventLoop) {
        self.loop = loop
        scratch = .allocate(byteCount: Self.scratchSize, alignment: 16)
    }

    deinit {
        scratch.deallocate()
    }

    func assertInLoop() {
        assert(loop.inEventLoop, "HTTP loop state touched off its loop")
    }
}
