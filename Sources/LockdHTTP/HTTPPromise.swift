import LockdTransport
import Synchronization

/// A response a responder promised (``HTTPAnswer/promised(_:)``) and
/// gives later from a callback — a store's reply read on the request's
/// loop — instead of awaiting it in a task.
///
/// Give it exactly once with ``succeed(_:)``, from any thread. When the
/// client disconnects first, ``cancellation`` is cancelled (what cancelling
/// the request's task is to `.later` work); the response is then still
/// given, and dropped.
///
/// ```swift
/// router.add(.post, "/jobs", name: "job") { request, _ in
///     .promised { request, context, promise in
///         queue.submit(request.body, cancellation: promise.cancellation) { outcome in
///             promise.succeed(HTTPResponse(status: outcome ? .ok : .conflict))
///         }
///     }
/// }
/// ```
public final class HTTPPromise: Sendable, HTTPRequestLogMetadataSource {
    /// Cancelled when the client goes before the response is given.
    public let cancellation: CallCancellation
    private let metadata: HTTPRequestLogMetadata?
    var logMetadata: HTTPRequestLogMetadata? { metadata }
    private let target: Target
    /// The name of the route the ``Router`` passed this promise to, set on
    /// the response as it is given: set here as the router hands the
    /// promise on, where a promise of its own for it was an allocation
    /// more per request. The first name set stays (an outer router's, as
    /// when each router's promise named the response on its way out).
    private let route = Mutex<String?>(nil)

    /// Where the response goes. The server's connection and a mapped
    /// promise are held as they are, not wrapped in closures: each closure
    /// is an allocation more per request.
    private enum Target: Sendable {
        case connection(HTTPConnection)
        case closure(@Sendable (HTTPResponse) -> Void)
        case mapped(HTTPPromise, @Sendable (consuming HTTPResponse) -> HTTPResponse)
    }

    /// A promise whose response goes to `deliver` (tests and adapters;
    /// the server makes its own).
    public init(cancellation: CallCancellation, metadata: HTTPRequestLogMetadata?, deliver: @escaping @Sendable (HTTPResponse) -> Void) {
        self.cancellation = cancellation
        self.metadata = metadata
        self.target = .closure(deliver)
    }

    /// The promise of a request `connection` is answering.
    init(connection: HTTPConnection, metadata: HTTPRequestLogMetadata?) {
        self.cancellation = CallCancellation()
        self.metadata = metadata
        self.target = .connection(connection)
    }

    private init(mapping promise: HTTPPromise, _ transform: @escaping @Sendable (consuming HTTPResponse) -> HTTPResponse) {
        self.cancellation = promise.cancellation
        self.metadata = promise.metadata
        self.target = .mapped(promise, transform)
    }

    /// Names the route whose handler keeps this promise (``Router``), unless
    /// a route was named already.
    func setRoute(_ name: String) {
        route.withLock { route in
            if route == nil { route = name }
        }
    }

    /// Gives the response, made with the request's log metadata bound (as
    /// in the request's task), so that what making it logs names the request.
    /// (Bound for the thread while `response` runs: a task it starts does
    /// not inherit it; see ``HTTPRequestLogMetadata/current``.)
    public func succeed(_ response: @autoclosure () -> HTTPResponse) {
        let outer = HTTPRequestLogMetadata.beginScope(self)
        let response = response()
        HTTPRequestLogMetadata.endScope(outer)
        deliver(response)
    }

    // Consumed, and handed on consumed: the response moves down the
    // chain of promises instead of being copied (retaining its parts) and
    // destroyed at each link.
    private func deliver(_ response: consuming HTTPResponse) {
        if let route = route.withLock({ $0 }) { response.route = route }
        switch target {
        case .connection(let connection): connection.finish(response)
        case .closure(let deliver): deliver(response)
        case .mapped(let promise, let transform): promise.deliver(transform(response))
        }
    }

    /// A promise of the same request that gives this one `transform`'s
    /// response: for a responder wrapping another (compression).
    /// `transform` takes the response over (it may return it changed
    /// without copying it).
    public func map(_ transform: @escaping @Sendable (consuming HTTPResponse) -> HTTPResponse) -> HTTPPromise {
        HTTPPromise(mapping: self, transform)
    }
}

extension HTTPAnswer {
    /// The response, awaited: `.later` work is run, a promise kept; a
    /// promise's cancellation follows the calling task's.
    nonisolated(nonsending) public func response(to request: HTTPRequest, context: HTTPRequestContext) async -> HTTPResponse {
        switch self {
        case .now(let response):
            return response
        case .later(let work):
            return await work(request, context)
        case .promised(let start):
            let cancellation = CallCancellation()
            return await withTaskCancellationHandler {
                await withUnsafeContinuation { (continuation: UnsafeContinuation<HTTPResponse, Never>) in
                    start(request, context, HTTPPromise(cancellation: cancellation, metadata: HTTPRequestLogMetadata.current) {
                        continuation.resume(returning: $0)
                    })
                }
            } onCancel: {
                cancellation.cancel()
            }
        }
    }
}
