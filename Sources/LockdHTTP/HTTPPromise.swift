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
public final class HTTPPromise: CallCancellation, HTTPRequestLogMetadataSource, @unchecked Sendable {
    // Safe to share (unchecked, as a `CallCancellation` subclass must be):
    // every stored property here is a `let` of a Sendable type; the
    // cancellation's state is the base class's.

    /// Cancelled when the client goes before the response is given: the
    /// server's promise is its own cancellation (one allocation, not two);
    /// a filtered one, and one made with a cancellation, answer for that
    /// one (as a ``CallCancellation`` too).
    public var cancellation: CallCancellation { shared ?? self }
    /// The cancellation this promise answers to when not its own.
    private let shared: CallCancellation?
    private let metadata: HTTPRequestLogMetadata?
    var logMetadata: HTTPRequestLogMetadata? { metadata }
    // Where the response goes: the server's connection (the response
    // filtered first when `filter` is set), a filtered promise's parent
    // (through `filter`), or a closure — one of `connection`, `parent` and
    // `closure` is set. Held as they are, not wrapped in closures (each an
    // allocation more per request), and as plain fields rather than one
    // enum's payloads: matched, a payload was copied out (the connection
    // and the filter retained and released again, ~80 instructions a
    // response) and the enum destroyed through its outlined witness.
    private let connection: HTTPConnection?
    private let parent: HTTPPromise?
    private let closure: (@Sendable (HTTPResponse) -> Void)?
    private let filter: (any HTTPResponseFilter)?

    /// A promise whose response goes to `deliver` (tests and adapters;
    /// the server makes its own).
    public init(cancellation: CallCancellation, metadata: HTTPRequestLogMetadata?, deliver: @escaping @Sendable (HTTPResponse) -> Void) {
        self.shared = cancellation
        self.metadata = metadata
        self.connection = nil
        self.parent = nil
        self.closure = deliver
        self.filter = nil
        super.init()
    }

    /// The promise of a request `connection` is answering.
    init(connection: HTTPConnection, metadata: HTTPRequestLogMetadata?) {
        self.shared = nil
        self.metadata = metadata
        self.connection = connection
        self.parent = nil
        self.closure = nil
        self.filter = nil
        super.init()
    }

    /// The promise of a request `connection` is answering, whose response
    /// goes through `filter` first.
    init(connection: HTTPConnection, metadata: HTTPRequestLogMetadata?, filter: any HTTPResponseFilter) {
        self.shared = nil
        self.metadata = metadata
        self.connection = connection
        self.parent = nil
        self.closure = nil
        self.filter = filter
        super.init()
    }

    private init(filtering promise: HTTPPromise, by filter: any HTTPResponseFilter) {
        self.shared = promise.cancellation
        self.metadata = promise.metadata
        self.connection = nil
        self.parent = promise
        self.closure = nil
        self.filter = filter
        super.init()
    }

    // A filtered promise answers for its parent's cancellation, whichever
    // way it is asked; the server's own promise is its own, kept by the
    // base class (its flag and step are atomics: asking and installing
    // take no lock).
    override public var isCancelled: Bool {
        if let shared { return shared.isCancelled }
        return super.isCancelled
    }

    override public func cancel() {
        if let shared { return shared.cancel() }
        super.cancel()
    }

    override public func onCancel(_ hook: @escaping @Sendable () -> Void) {
        if let shared { shared.onCancel(hook) } else { super.onCancel(hook) }
    }

    override public func onCancel(_ target: any CallCancellationTarget) {
        if let shared { shared.onCancel(target) } else { super.onCancel(target) }
    }

    /// Binds the request's log metadata in a task started for the request's
    /// call (a store's call that goes on in a task), as the task of a
    /// `.later` answer has it: the promise's start runs outside a task,
    /// where binding a task local costs an allocation per request.
    override public func inCallerContext(_ work: @Sendable () async -> Void) async {
        await HTTPRequestLogMetadata.$bound.withValue(metadata) { await work() }
    }

    /// Gives the response, made with the request's log metadata bound (as
    /// in the request's task), so that what making it logs names the request.
    /// (Bound for the thread while `response` runs: a task it starts does
    /// not inherit it; see ``HTTPRequestLogMetadata/current``.)
    public func succeed(_ response: @autoclosure () -> HTTPResponse) {
        // Through the connection when there is one: on its loop, it holds
        // the thread's scope (a connection is reached through the optional,
        // not bound, as in `deliver`).
        let outer = connection?.beginLogScope(self) ?? HTTPRequestLogMetadata.beginScope(self)
        let response = response()
        HTTPRequestLogMetadata.endScope(outer)
        deliver(response)
    }

    // Consumed, and handed on consumed: the response moves down the
    // chain of promises instead of being copied (retaining its parts) and
    // destroyed at each link.
    private func deliver(_ response: consuming HTTPResponse) {
        if connection != nil {
            // Reached through the optionals, not bound: bound, the
            // connection and the filter were retained for the calls and
            // released after (~80 instructions a response), though this
            // promise's `let`s hold them throughout.
            // (`filter` is checked just before it is unwrapped.)
            guard filter != nil else {
                connection?.finish(response)
                return
            }
            connection?.finish(filter.unsafelyUnwrapped.filter(response))
        } else if let parent {
            guard let filter else { return parent.deliver(response) }  // never: set with the parent
            parent.deliver(filter.filter(response))
        } else {
            closure?(response)
        }
    }

    /// A promise of the same request that gives this one its response as
    /// `filter` changes it: for a responder wrapping another.
    /// The filter is shared, and has what it needs of the request already
    /// (the promise keeps no request): no closure is made per request.
    ///
    /// Filters added to the request's context
    /// (``HTTPRequestContext/addPromisedResponseFilter(_:)``, as compression
    /// does) apply last, at the outermost promise: `filter` sees the response
    /// before them. A responder that must see the response as the client
    /// gets it adds its filter to the context after theirs instead.
    public func filtered(by filter: some HTTPResponseFilter) -> HTTPPromise {
        HTTPPromise(filtering: self, by: filter)
    }
}

extension HTTPAnswer {
    /// The response, awaited: `.later` work is run, a promise kept; a
    /// promise's cancellation follows the calling task's.
    nonisolated(nonsending) public func response(to request: HTTPRequest, context: HTTPRequestContext) async -> HTTPResponse {
        switch self {
        case .now(let response):
            return response
        case .shared(let shared):
            return shared.response
        case .later(let work):
            return await work(request, context)
        case .promised(let start):
            let cancellation = CallCancellation()
            return await withTaskCancellationHandler {
                await withUnsafeContinuation { (continuation: UnsafeContinuation<HTTPResponse, Never>) in
                    let promise = HTTPPromise(cancellation: cancellation, metadata: HTTPRequestLogMetadata.current) {
                        continuation.resume(returning: $0)
                    }
                    if let filter = context.promisedResponseFilter {
                        start(request, context, promise.filtered(by: filter))
                    } else {
                        start(request, context, promise)
                    }
                }
            } onCancel: {
                cancellation.cancel()
            }
        }
    }
}
