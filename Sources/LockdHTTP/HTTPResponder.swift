import LockdTransport
import Logging

/// Answers requests: the one thing an ``HTTPServer`` needs from the layer above.
///
/// Each request is answered on the event loop that owns the connection:
/// ``answer(to:context:)`` first, synchronously; what it defers (by default
/// `respond`) runs as a task on that loop. When the client disconnects
/// before the answer is ready, the task is cancelled at once, so a
/// responder that waits (a long poll) should await in a cancellable way and
/// give up when cancelled; its response is then dropped.
///
/// ```swift
/// struct Hello: HTTPResponder {
///     func respond(to request: HTTPRequest, context: HTTPRequestContext) async -> HTTPResponse {
///         HTTPResponse(status: .ok, body: Array("hello\n".utf8))
///     }
/// }
/// ```
public protocol HTTPResponder: Sendable {
    /// Produces the response to `request`; errors are expressed as responses.
    ///
    /// Runs on the caller's executor (`nonisolated(nonsending)`): a responder
    /// wrapping another calls it without an executor check, which a
    /// concurrent async function pays on entry and exit (~0.25 k instructions
    /// each with a task executor preference, several per request).
    nonisolated(nonsending) func respond(to request: HTTPRequest, context: HTTPRequestContext) async -> HTTPResponse

    /// Answers `request` at once when that needs no waiting, else says what
    /// to await; the server calls this, not ``respond(to:context:)``.
    ///
    /// A request answered ``HTTPAnswer/now(_:)`` runs no task at all: a
    /// task's creation, its allocator's slabs and its executor checks cost
    /// about a quarter of a `/healthz`. The default awaits
    /// ``respond(to:context:)`` in a task.
    ///
    /// `context` is the request's own, lent: a ``Router`` binds the path's
    /// parameters and names the route in it, and the server runs deferred
    /// work and keeps a promise with the context as the answer left it.
    /// (Passed by value, binding a parameter copied the context and naming
    /// the route copied the response: ~0.5 k instructions a lock request.)
    func answer(to request: HTTPRequest, context: inout HTTPRequestContext) -> HTTPAnswer
}

extension HTTPResponder {
    /// Defers to ``respond(to:context:)``, run in a task.
    public func answer(to request: HTTPRequest, context: inout HTTPRequestContext) -> HTTPAnswer {
        .later { request, context in await respond(to: request, context: context) }
    }

    /// ``answer(to:context:)``'s response, awaited, and named after the
    /// route the answer named (``HTTPResponse/route``): what
    /// ``respond(to:context:)`` is for a responder that answers.
    nonisolated(nonsending) public func respondByAnswering(to request: HTTPRequest, context: HTTPRequestContext) async -> HTTPResponse {
        var context = context
        let answer = answer(to: request, context: &context)
        var response = await answer.response(to: request, context: context)
        if let route = context.route { response.route = route }
        return response
    }
}

/// A responder's answer: the response itself, or the work that produces it.
public enum HTTPAnswer: Sendable {
    /// The response, made without waiting.
    case now(HTTPResponse)
    /// A response made once and shared by every request it answers, given
    /// as ``now(_:)`` gives its own: the same bytes are written, but the
    /// response is neither copied nor destroyed per request (see
    /// ``SharedHTTPResponse``).
    case shared(SharedHTTPResponse)
    /// The response needs waiting (a store's reply, a long poll): the server
    /// runs this in a task on the request's loop, cancelled when the client
    /// goes.
    case later(Work)
    /// The response will be given from a callback on the request's loop
    /// (a store's reply read there), with no task: the server calls this
    /// at once with a promise to keep (see ``HTTPPromise``).
    case promised(Start)

    /// What produces a response that needs waiting, called with the request
    /// and its context (passed, not captured: a closure holding them copies
    /// both); runs on the request's loop.
    public typealias Work = nonisolated(nonsending) @Sendable (HTTPRequest, HTTPRequestContext) async -> HTTPResponse

    /// Starts what keeps a promise, called with the request, its context
    /// and the promise; returns at once.
    public typealias Start = @Sendable (HTTPRequest, HTTPRequestContext, HTTPPromise) -> Void
}

/// What the server knows about a request beyond its bytes.
public struct HTTPRequestContext: Sendable {
    /// What every request of a connection shares, made once per connection:
    /// a context is copied where a router binds parameters and into a
    /// request's task, and one reference is retained where the loop, the
    /// address and the logger (a handler existential, a label) were each
    /// (~0.3 k instructions a lock request to copy and destroy).
    final class Shared: Sendable {
        let eventLoop: EventLoop
        let remoteAddress: SocketAddress?
        let logger: Logger
        /// Whether `logger`'s metadata provider adds the request's
        /// metadata itself; known when the context is made (the server knows
        /// it once): asking the handler costs ~0.25 k instructions a read.
        let loggerAddsMetadata: Bool
        /// `logger`'s level when its handler keeps it as a stored value
        /// (see ``HTTPFixedLevelLogHandler``), known when the server is made;
        /// nil for any other handler, which is asked on each check.
        let fixedLogLevel: Logger.Level?

        init(eventLoop: EventLoop, remoteAddress: SocketAddress?, logger: Logger, loggerAddsMetadata: Bool,
             fixedLogLevel: Logger.Level?) {
            self.eventLoop = eventLoop
            self.remoteAddress = remoteAddress
            self.logger = logger
            self.loggerAddsMetadata = loggerAddsMetadata
            self.fixedLogLevel = fixedLogLevel
        }
    }

    private let shared: Shared
    /// The loop running the request's task; put per-request I/O (a Redis call) on it.
    public var eventLoop: EventLoop { shared.eventLoop }
    /// The client's address, when the kernel could tell it.
    public var remoteAddress: SocketAddress? { shared.remoteAddress }
    /// Path parameters filled in by ``Router``, percent-decoded (`{name}` → `"name"`).
    public var parameters: PathParameters
    /// The request's id: the client's `X-Request-Id`, or one the server made.
    /// The response carries it back in `X-Request-Id`.
    public internal(set) var requestID: HTTPRequestID
    /// The W3C `traceparent` the client sent, when well-formed; logged with the request.
    public internal(set) var traceParent: String?
    /// The name of the route answering the request, set by ``Router`` as
    /// it answers (the outermost router's, when one wraps another); the
    /// server reports it (``HTTPExchange/route``) unless the response
    /// names one itself (``HTTPResponse/route``).
    public internal(set) var route: String? {
        get { hasRoute ? keptRoute : nil }
        set {
            if let newValue { nameRoute(newValue) } else { hasRoute = false }
        }
    }
    /// The route this request was named (``nameRoute(_:)``) — or, while
    /// ``hasRoute`` is false, the last one a request of the connection was
    /// named, kept: most requests are named as the last one was, and the
    /// name is then not assigned (released, retained) again. Cleared at
    /// each request and set at each, it cost ~40 instructions a request.
    var keptRoute: String?
    /// Whether this request was named ``keptRoute``.
    var hasRoute = false

    /// Names the route answering this request (``route``); the name kept
    /// from an earlier request is not assigned again when it is this one.
    @inline(__always)
    mutating func nameRoute(_ name: String) {
        hasRoute = true
        if !(keptRoute.map { $0.hasSameBits(as: name) } ?? false) { keptRoute = name }
    }
    /// What a response given through this request's promise (an
    /// ``HTTPAnswer/promised(_:)`` answer's) goes through before it is
    /// sent: set by a responder wrapping another (compression) in place of
    /// wrapping the answer's start and its promise — a closure and a
    /// promise more per request. The server's promise applies it as it is
    /// kept, as does ``HTTPAnswer/response(to:context:)``'s. A responder
    /// that turns a promised answer into another kind applies it itself.
    public var promisedResponseFilter: (any HTTPResponseFilter)? {
        hasPromisedResponseFilter ? keptPromisedResponseFilter : nil
    }
    /// The filter this request added — or, while ``hasPromisedResponseFilter``
    /// is false, one an earlier request of the connection added, kept: a
    /// request that adds the same one again (compression adds one of its
    /// few shared filters to every promised request) then sets no reference.
    /// Cleared and set again per request, the filter was released, then
    /// retained, and its existential destroyed and copied (~70 instructions
    /// a promised request).
    private var keptPromisedResponseFilter: (any HTTPResponseFilter)?
    /// The identity of ``keptPromisedResponseFilter``, compared without
    /// copying (retaining) the filter.
    private var keptPromisedResponseFilterID: ObjectIdentifier?
    /// Whether this request added ``keptPromisedResponseFilter``.
    private var hasPromisedResponseFilter = false
    /// True in the context the server passes to ``HTTPResponder/answer(to:context:)``,
    /// whose ``HTTPAnswer/now(_:)`` answer it writes as it reads the request;
    /// false in a task's or promise's context, and in contexts made by others.
    var isAnsweredInPlace: Bool

    /// Creates a context (tests and adapters; the server makes its own).
    public init(
        eventLoop: EventLoop,
        remoteAddress: SocketAddress? = nil,
        logger: Logger,
        requestID: HTTPRequestID = HTTPRequestID(prefix: "", number: 0),
        traceParent: String? = nil,
        parameters: PathParameters = [:]
    ) {
        self.init(
            shared: Shared(
                eventLoop: eventLoop, remoteAddress: remoteAddress, logger: logger,
                loggerAddsMetadata: logger.handler.metadataProvider != nil,
                fixedLogLevel: HTTPFixedLevelLogHandlers.level(of: logger)),
            requestID: requestID, traceParent: traceParent, parameters: parameters, isAnsweredInPlace: false)
    }

    /// The server's context of a request.
    init(shared: Shared, requestID: HTTPRequestID, traceParent: String?, parameters: PathParameters, isAnsweredInPlace: Bool) {
        self.shared = shared
        self.requestID = requestID
        self.traceParent = traceParent
        self.parameters = parameters
        self.isAnsweredInPlace = isAnsweredInPlace
    }

    /// Makes a context kept by a connection (or left by its last request)
    /// the context of a new request, as the server answers it in place:
    /// nothing the last request's answer set stays. Each part is written
    /// only when it changes (an assignment releases what it replaces).
    /// (`requestID` is consumed: moved in, where an assignment of a
    /// borrowed id copied it through its value witness, ~50 instructions.)
    mutating func beginRequest(requestID: consuming HTTPRequestID, traceParent: String?) {
        self.requestID = requestID
        if traceParent != nil || self.traceParent != nil { self.traceParent = traceParent }
        if parameters.count != 0 { parameters = PathParameters() }
        // The last request's route is kept for the next to be named again
        // (see ``keptRoute``); it no longer names this one.
        hasRoute = false
        // The last request's filter is kept for the next to add again (see
        // ``keptPromisedResponseFilter``); it no longer applies.
        hasPromisedResponseFilter = false
        isAnsweredInPlace = true
    }

    /// Has a response given through this request's promise go through
    /// `filter` (see ``promisedResponseFilter``), after any filter added
    /// before it: a responder adds its filter as the answer it wraps comes
    /// back, so the innermost responder's applies first.
    public mutating func addPromisedResponseFilter(_ filter: some HTTPResponseFilter) {
        if hasPromisedResponseFilter, let earlier = keptPromisedResponseFilter {
            let chained = ChainedResponseFilter(earlier, then: filter)
            keptPromisedResponseFilter = chained
            keptPromisedResponseFilterID = ObjectIdentifier(chained)
        } else {
            hasPromisedResponseFilter = true
            // The one kept already, as most are: nothing to set.
            let id = ObjectIdentifier(filter)
            guard id != keptPromisedResponseFilterID else { return }
            keptPromisedResponseFilter = filter
            keptPromisedResponseFilterID = id
        }
    }

    /// Whether an answer made now may be dropped unwritten, its client gone
    /// (or half-closed) first: then an answer that hands something over
    /// needs an ``HTTPResponse/onDropped``, and the server looks at the
    /// socket before writing it. Any answer may be, but one given at once
    /// in the server's context (``HTTPAnswer/now(_:)``), which is written as
    /// the request is read: only a hang-up its loop may not have seen can
    /// drop that one — its FIN came with the request, or the loop's batch
    /// began too long ago (``EventLoop/hangUpMayBeUnseen(at:)``).
    /// - Parameter now: a clock reading (`MonotonicClock`) taken while answering.
    public func answerMayBeDropped(now: UInt64) -> Bool {
        // Off its loop (a context kept past its answer), nothing is in place.
        !isAnsweredInPlace || !eventLoop.inEventLoop || eventLoop.hangUpMayBeUnseen(at: now)
    }

    /// Whether ``logger`` writes lines of `level`: ask before a line on a
    /// hot path, which then copies no logger when it would write nothing
    /// (the copy, retained and released, cost ~70 instructions a grant).
    ///
    /// A handler whose level is a stored value (``HTTPFixedLevelLogHandler``)
    /// is not asked: the logger is the server's own copy, so nothing can set
    /// that level after the server is made, and asking copied the handler
    /// out of the logger and destroyed it (~0.23 k instructions a grant).
    /// Any other handler may read its level from shared state that changes
    /// at run time, and is asked each time, as before.
    public func logs(_ level: Logger.Level) -> Bool {
        if let fixed = shared.fixedLogLevel { return fixed <= level }
        return shared.logger.logLevel <= level
    }

    /// The server's logger with `request.id` (and `traceparent`, when sent)
    /// metadata.
    ///
    /// A logger made with ``HTTPRequestLogMetadata/metadataProvider`` (as
    /// lockd's are) is returned as it is: the provider adds the metadata
    /// when a line is written, so a request that logs nothing pays nothing
    /// (setting metadata on a handler can cost more than the request). Other
    /// loggers get the metadata set here, on each read.
    public var logger: Logger {
        guard !shared.loggerAddsMetadata else { return shared.logger }
        var logger = shared.logger
        for (key, value) in HTTPRequestLogMetadata(requestID: requestID, traceParent: traceParent).metadata {
            logger[metadataKey: key] = value
        }
        return logger
    }
}
