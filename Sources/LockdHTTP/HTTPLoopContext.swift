import LockdTransport

/// What the server keeps per event loop: the cached `Date`, the open
/// connections and the loop's listener. (Connections read into the loop's
/// own ``EventLoop/readBuffer``.)
final class HTTPLoopContext: @unchecked Sendable {
    // Safe to share: `loop` never changes, and every other property is read
    // and written only on `loop`'s thread — by the loop's event handlers
    // (listener and connections), its timers, and the server's shutdown,
    // which hops there with `loop.execute`.

    /// The loop whose thread owns this context.
    let loop: EventLoop
    /// Read once per response, a short mutation that calls nothing back:
    /// the runtime's exclusivity check cost ~120 instructions a response.
    @exclusivity(unchecked) var dates = HTTPDateCache()
    /// Header storage a request answered in place gave back, for the next
    /// request decoded on this loop (by any connection): one allocation and
    /// its free saved a request (~0.35 k instructions), for one spare per
    /// loop rather than per connection (an idle connection holds none).
    @exclusivity(unchecked) var spareHeaders = HTTPHeaders()
    var connections: [Int32: HTTPConnection] = [:]
    var listener: HTTPListener?

    init(loop: EventLoop) {
        self.loop = loop
    }
}
