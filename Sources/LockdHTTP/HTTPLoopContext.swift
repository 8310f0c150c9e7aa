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
    /// Storage a request answered in place gave back, for the next request
    /// decoded on this loop (by any connection).
    @exclusivity(unchecked) var spare = SpareRequestStorage()
    var connections: [Int32: HTTPConnection] = [:]
    /// The log-metadata scope of the loop's thread, once found there (see
    /// ``logScope``). Unmanaged: the thread's own key holds the scope until
    /// the thread ends (``HTTPRequestLogMetadata/ThreadScope/forThisThread()``),
    /// and it is read only on that thread, while it runs. Held strongly, it
    /// was retained and released around each request's use (~40 instructions).
    @exclusivity(unchecked) private var logScopeStorage: Unmanaged<HTTPRequestLogMetadata.ThreadScope>?
    /// The log-metadata scope of the loop's thread (read on that thread
    /// only): found once, where each request looked it up by its key.
    @inline(__always)
    var logScope: Unmanaged<HTTPRequestLogMetadata.ThreadScope> {
        if let logScopeStorage { return logScopeStorage }
        let scope = Unmanaged.passUnretained(HTTPRequestLogMetadata.ThreadScope.forThisThread())
        logScopeStorage = scope
        return scope
    }
    var listener: HTTPListener?

    init(loop: EventLoop) {
        self.loop = loop
    }
}

/// A request's field, body and path storage, kept for the next request
/// on the loop: each is an allocation and its free saved a request
/// (~0.35 k instructions), for one spare per loop rather than per
/// connection (an idle connection holds none).
struct SpareRequestStorage {
    var headers = HTTPHeaders()
    var body: [UInt8] = []
    var path: [UInt8] = []

    /// The largest storage of either kind kept.
    static let maxCapacity = 4_096

    /// Whether there is storage to hand out.
    var isEmpty: Bool { headers.storageCapacity == 0 && body.capacity == 0 && path.capacity == 0 }

    /// Takes back `request`'s storage once its answer has started, for the
    /// next request (on this loop: the request is the connection's, lent,
    /// and its parts go to its decoder's next request in exchange; see
    /// ``HTTPRequestDecoder/moveRequest(into:)``): of each kind this spare
    /// lacks (unless it grew past ``maxCapacity``), the fields emptied, the
    /// body and the path as they are (the next request's replace them).
    /// Storage not kept is dropped, as it was when the request was
    /// destroyed: an idle connection holds none. Storage still shared with
    /// a task the answer started stays with it; the spare is then fresh
    /// storage of the same size, which the next request would have
    /// allocated anyway.
    mutating func recycle(_ request: inout HTTPRequest) {
        let headersCapacity = request.headers.storageCapacity
        if headersCapacity > 0 {
            if headers.storageCapacity == 0, headersCapacity <= Self.maxCapacity {
                swap(&headers, &request.headers)
                headers.removeAllKeepingStorage()
            } else {
                request.headers = HTTPHeaders()
            }
        }
        // The body and the path kept as they are: the next request's replace them
        // (``HTTPRequestDecoder/replacesBody``, ``PartialHead``).
        let bodyCapacity = request.body.capacity
        if bodyCapacity > 0 {
            if body.capacity == 0, bodyCapacity <= Self.maxCapacity {
                swap(&body, &request.body)
            } else {
                request.body = []
            }
        }
        let pathCapacity = request.pathBytes.capacity
        if pathCapacity > 0 {
            if path.capacity == 0, pathCapacity <= Self.maxCapacity {
                swap(&path, &request.pathBytes)
            } else {
                request.pathBytes = []
            }
        }
        // A query (rare) is not storage: it is dropped here too.
        if request.query != nil { request.query = nil }
    }

    /// Keeps the path storage of an exchange whose answer ended after its
    /// request was decoded (the request let go of it then), as it is, when
    /// this spare lacks one; the exchange's is nil after, either way.
    mutating func keepPath(of exchange: inout HTTPExchange) {
        guard let held = exchange.pathBytes.take() else { return }
        guard path.capacity == 0, held.capacity > 0, held.capacity <= Self.maxCapacity else { return }
        path = held
    }
}
