import LockdTransport
import Logging
import LockdTLS
import Synchronization

/// An HTTP/1.1 server on the event loops of an ``EventLoopGroup``.
///
/// The first loop accepts and deals connections out to the loops in turn;
/// each loop owns the connections it is given; each request's ``HTTPResponder`` call runs as a task whose
/// executor is that loop, and is cancelled when the client disconnects.
///
/// ```swift
/// let group = try EventLoopGroup()
/// let server = HTTPServer(
///     configuration: HTTPServerConfiguration(listenAddress: "127.0.0.1:0"),
///     responder: router, eventLoopGroup: group, logger: logger)
/// let addresses = try server.start()          // the bound port, even for port 0
/// …
/// await server.shutdown(gracePeriod: .seconds(10))
/// group.shutdown()
/// ```
public final class HTTPServer: Sendable {
    /// The settings the server was created with.
    public let configuration: HTTPServerConfiguration
    /// The responder's ``HTTPResponder/answer(to:context:)``, in a closure
    /// holding it: called through an `any HTTPResponder` stored here, the
    /// existential's box was copied out and destroyed on every request
    /// (~0.12 k instructions). The closure is made in the caller's module
    /// (the public initializer is inlinable), where the responder's type is
    /// known: made here, it called a chain of responders (compression, the
    /// access check, the router) through their witness tables, generic code
    /// unspecialized.
    let answer: @Sendable (HTTPRequest, inout HTTPRequestContext) -> HTTPAnswer
    /// Not optional (``NoExchangeObserver`` stands for none): calling
    /// through an optional existential copies it, twice a request.
    let observer: any HTTPExchangeObserver
    /// `observer`'s ``HTTPExchangeObserver/readsPath``, asked once.
    let observerReadsPath: Bool
    let logger: Logger
    /// Whether `logger`'s metadata provider adds each request's metadata (see ``HTTPRequestContext/logger``).
    let loggerAddsMetadata: Bool
    /// `logger`'s level, when nothing can change it (see ``HTTPRequestContext/logs(_:)``).
    let fixedLogLevel: Logger.Level?
    let limits: HTTPRequestLimits
    let contexts: [HTTPLoopContext]
    /// Every request id of this server is this one's prefix with its own
    /// number, so ids from several instances differ.
    let requestIDTemplate: HTTPRequestID
    /// Alone on its cache line (``RequestCounter``): both loops add to it
    /// for every request that brings no id, and here, beside
    /// `requestIDTemplate` and `draining` (which both loops read for every
    /// request), each add invalidated the other core's copy of those reads.
    private let requestCounter = RequestCounter()
    private let lifecycle = Mutex(Lifecycle())
    private let draining = Atomic<Bool>(false)
    /// The TLS settings new connections use; replaced by ``reloadTLS()``.
    private let tls = Mutex<TLSServerContext?>(nil)
    let streamOptions: StreamSocket.Options

    private struct Lifecycle {
        var openConnections = 0
        var started = false
        var drainWaiters: [CheckedContinuation<Void, Never>] = []
    }

    /// Creates a server; nothing happens until ``start()``.
    /// - Parameters:
    ///   - configuration: Address, limits and timeouts.
    ///   - responder: Answers every request (a ``Router`` usually).
    ///   - eventLoopGroup: The loops to serve on; the caller shuts it down after the server.
    ///   - logger: For connection-level events (at debug and trace) and, with a
    ///     request id, for responders through ``HTTPRequestContext/logger``.
    ///   - observer: Told of every response written (metrics, access logs).
    @inlinable
    public convenience init(
        configuration: HTTPServerConfiguration,
        responder: some HTTPResponder,
        eventLoopGroup: EventLoopGroup,
        logger: Logger,
        observer: (any HTTPExchangeObserver)? = nil
    ) {
        // Inlinable so that this closure is specialized for the responder's
        // type where the server is made: the chain's calls are then direct
        // (~0.1 k instructions a request; see `answer`).
        self.init(
            configuration: configuration, answer: { request, context in responder.answer(to: request, context: &context) },
            eventLoopGroup: eventLoopGroup, logger: logger, observer: observer)
    }

    /// Creates a server answering through `answer` (see the public initializer).
    @usableFromInline
    init(
        configuration: HTTPServerConfiguration,
        answer: @escaping @Sendable (HTTPRequest, inout HTTPRequestContext) -> HTTPAnswer,
        eventLoopGroup: EventLoopGroup,
        logger: Logger,
        observer: (any HTTPExchangeObserver)?
    ) {
        self.configuration = configuration
        self.answer = answer
        let observer = observer ?? NoExchangeObserver()
        self.observer = observer
        self.observerReadsPath = observer.readsPath
        self.logger = logger
        self.loggerAddsMetadata = logger.handler.metadataProvider != nil
        self.fixedLogLevel = HTTPFixedLevelLogHandlers.level(of: logger)
        self.limits = configuration.limits
        self.contexts = eventLoopGroup.loops.map(HTTPLoopContext.init)
        self.requestIDTemplate = HTTPRequestID(prefix: String(UInt32.random(in: 0x1000_0000...UInt32.max), radix: 16) + "-", number: 0)
        self.streamOptions = StreamSocket.Options(
            maxBufferedInput: HTTPConnection.maxBufferedInput(configuration.limits),
            handshakeTimeout: configuration.tlsHandshakeTimeout)
    }

    /// Reads the TLS files (when configured), binds the listening socket and starts accepting.
    /// - Returns: The bound addresses (with the real port when the configured one is 0).
    /// - Throws: ``TLSError`` naming a TLS file that cannot be used,
    ///   ``SocketAddressError`` for a bad listen address, ``TransportError``
    ///   when the address cannot be bound.
    @discardableResult
    public func start() throws -> [SocketAddress] {
        lifecycle.withLock { state in
            precondition(!state.started, "HTTPServer.start() called twice")
            state.started = true
        }
        if configuration.tls != nil { try reloadTLS() }
        let socket = try Socket.listen(on: SocketAddress(parsing: configuration.listenAddress), backlog: configuration.backlog)
        let address: SocketAddress
        do {
            address = try socket.localAddress()
        } catch {
            socket.close()
            throw error
        }
        let context = contexts[0]
        context.loop.execute { [self] in
            let listener = HTTPListener(socket: socket, server: self, context: context)
            do {
                try context.loop.register(fd: socket.fd, events: .readable, handler: listener)
                context.listener = listener
            } catch {
                logger.error("cannot watch the listening socket", metadata: ["error": "\(error)"])
                socket.close()
            }
        }
        logger.debug("HTTP server listening", metadata: ["address": "\(address)", "loops": .stringConvertible(contexts.count)])
        return [address]
    }

    /// Stops gracefully: stops accepting, closes idle connections, lets requests
    /// in flight finish (their responses carry `Connection: close`), and after
    /// `gracePeriod` cancels what is still running and closes every connection.
    /// Returns when all connections are closed.
    public func shutdown(gracePeriod: Duration) async {
        draining.store(true, ordering: .sequentiallyConsistent)
        // What a slow stop waits for shows in the log: connections open now
        // (requests in flight, lingering closes), and those the grace ended.
        logger.debug("HTTP server draining", metadata: ["connections": .stringConvertible(openConnectionCount)])
        for context in contexts {
            context.loop.execute {
                context.listener?.close()
                for connection in Array(context.connections.values) { connection.beginDrain() }
            }
        }
        if let first = contexts.first {
            first.loop.execute { [self] in
                first.loop.scheduleTimer(after: gracePeriod) { [self] in
                    let open = openConnectionCount
                    guard open > 0 else { return }
                    logger.info("the drain's grace period is over: closing the connections still open",
                                metadata: ["connections": .stringConvertible(open)])
                    for context in contexts {
                        context.loop.execute {
                            for connection in Array(context.connections.values) { connection.forceClose() }
                        }
                    }
                }
            }
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = lifecycle.withLock { state -> Bool in
                guard state.openConnections > 0 else { return true }
                state.drainWaiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
        logger.debug("HTTP server stopped")
    }

    // MARK: TLS

    /// Reads the configured certificate, key and client CAs again (after
    /// they were rotated on disk): connections accepted from now on use them;
    /// open connections keep the ones they started with. On failure the
    /// server keeps what it had. Does nothing for a plaintext server.
    /// - Throws: ``TLSError`` naming the file that cannot be used and why.
    public func reloadTLS() throws(TLSError) {
        guard let configuration = configuration.tls else { return }
        let context = try TLSServerContext(configuration: configuration)
        tls.withLock { $0 = context }
    }

    /// The TLS settings for a connection accepted now (nil for plaintext).
    var tlsContext: TLSServerContext? { tls.withLock { $0 } }

    // MARK: Connection accounting (called by listeners and connections)

    /// Connections open now (for tests and diagnostics).
    /// Connections open now (accepted and not yet closed).
    public var openConnectionCount: Int { lifecycle.withLock { $0.openConnections } }

    var isDraining: Bool { draining.load(ordering: .relaxed) }

    /// Counts a new connection; false when the cap is reached (or the server is draining).
    func connectionOpened() -> Bool {
        lifecycle.withLock { state in
            guard state.openConnections < configuration.maxConnections, !isDraining else { return false }
            state.openConnections += 1
            return true
        }
    }

    func connectionClosed() {
        let waiters = lifecycle.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.openConnections -= 1
            guard state.openConnections == 0 else { return [] }
            defer { state.drainWaiters = [] }
            return state.drainWaiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// A fresh id for a request that brought none.
    func makeRequestID() -> HTTPRequestID {
        requestIDTemplate.numbered(requestCounter.value.wrappingAdd(1, ordering: .relaxed).newValue)
    }

    /// Tells the observer of a response; `method` and `path` are nil for a
    /// request that could not be read.
    func report(_ method: HTTPMethod?, _ path: String?, _ response: HTTPResponse, startedAt: UInt64,
                requestID: HTTPRequestID, remoteAddress: SocketAddress?) {
        var exchange = HTTPExchange(
            method: method, path: path, route: response.route, status: response.status,
            durationNanoseconds: startedAt == 0 ? 0 : MonotonicClock.now() &- startedAt,
            requestID: requestID, remoteAddress: remoteAddress)
        report(&exchange)
    }

    /// Tells the observer of a response, the exchange complete. In-out only
    /// so that a connection's stored exchange is lent, not copied (passing a
    /// class's stored property copies it: ~0.25 k instructions a request).
    func report(_ exchange: inout HTTPExchange) {
        observer.answered(&exchange)
    }
}

/// A server's count of the request ids it made, padded so that its atomic
/// shares a cache line with nothing else: the object is at least 16-byte
/// aligned, so the 64-byte line holding `value` (at offset 72) lies within
/// the padding on either side — never the object's header (its reference
/// count) nor another object. Both event loops add to it; what they read on
/// every request stays elsewhere, unwritten.
final class RequestCounter: Sendable {
    private let before: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0)
    /// The last number given (0: none yet).
    let value = Atomic<UInt64>(0)
    private let after: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0)
}
