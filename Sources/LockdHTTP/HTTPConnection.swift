import LockdTransport
import Logging

/// One client connection: reads into the loop's buffer, decodes requests,
/// runs each through the responder as a task on the loop, and writes the
/// responses in order, batched into one `send` per read where it can.
///
/// Requests are answered one at a time: while a response is being produced
/// the connection keeps reading (buffering pipelined requests, up to a bound)
/// so that a client's disconnect is seen — and the request's task cancelled —
/// at once.
final class HTTPConnection: EventHandler, @unchecked Sendable {
    // Safe to share: `socket`, `server`, `context` and `remoteAddress` never
    // change after init; every other property is read and written only on
    // `context.loop`'s thread — by `handleEvents` (called by the loop), by the
    // loop's timers, and by `finish`, which runs in a task whose executor is
    // the loop and hops there itself if it ever is not.

    /// The events every connection watches; `.readable` is dropped while input is throttled.
    static let baseInterest: EpollEvents = [.readable, .readHangup]

    let socket: Socket
    let server: HTTPServer
    let context: HTTPLoopContext
    private var remoteAddress: SocketAddress?

    private var decoder: HTTPRequestDecoder
    /// Received bytes the decoder has not consumed.
    private var pending: [UInt8] = []
    /// Encoded responses not yet sent, from `sent` on.
    private var output: [UInt8] = []
    private var sent = 0

    private var phase = Phase.open
    private var handler: InFlight?
    /// True while `drive` runs, so a response finished synchronously is not re-entrant.
    private var driving = false
    /// No further request is read: the last response says `Connection: close`.
    private var closeAfterOutput = false
    private var draining = false
    private var interest = HTTPConnection.baseInterest
    var deadlines = ConnectionDeadlines()
    /// When the first byte of the request being received arrived.
    private var requestStartedAt: UInt64 = 0

    private enum Phase {
        case open
        /// The final response is sent and the write side shut; reading until
        /// the client closes, so unread input does not turn into a reset that
        /// destroys the response before the client reads it.
        case lingering(discarded: Int)
        case closed
    }

    private struct InFlight {
        var task: Task<Void, Never>?
        let headOnly: Bool
        let keepAlive: Bool
        let version: HTTPVersion
        let method: HTTPMethod
        let path: String
        let requestID: HTTPRequestID
        let startedAt: UInt64
    }

    /// Input buffered while a request is being answered, beyond which reading pauses.
    private var maxPending: Int {
        server.limits.maxRequestLineLength + server.limits.maxHeaderSectionLength + server.limits.maxBodyLength
    }

    /// Output queued for a slow reader beyond which no further request is decoded.
    private static let maxQueuedOutput = 64 * 1024
    private static let maxLingerBytes = 1 << 20
    static let lingerTimeout = Duration.seconds(2)

    init(socket: Socket, server: HTTPServer, context: HTTPLoopContext) {
        self.socket = socket
        self.server = server
        self.context = context
        self.decoder = HTTPRequestDecoder(limits: server.limits)
    }

    /// Called once, after registration with the loop.
    func start() {
        remoteAddress = try? socket.remoteAddress()
        setDeadline(.idle)
        // Accepted just before shutdown began: nothing is in flight yet, so close.
        if server.isDraining { beginDrain() }
    }

    // MARK: Events

    func handleEvents(_ events: EpollEvents) {
        context.assertInLoop()
        if events.contains(.writable) { pump() }
        guard !isClosed else { return }
        if interest.contains(.readable) {
            if !events.isDisjoint(with: [.readable, .readHangup, .error, .hangup]) { readOnce() }
        } else if !events.isDisjoint(with: [.readHangup, .error, .hangup]) {
            // Reading is paused, so this can only mean the client is gone.
            close()
        }
    }

    private func readOnce() {
        let scratch = context.scratch
        guard let base = scratch.baseAddress else { return }
        switch socket.read(into: base, count: scratch.count) {
        case .wouldBlock:
            return
        case .endOfFile, .failed:
            close()
        case .bytes(let count):
            if case .lingering(let discarded) = phase {
                phase = .lingering(discarded: discarded + count)
                if discarded + count > Self.maxLingerBytes { close() }
                return
            }
            if decoder.isIdle && pending.isEmpty { requestStartedAt = MonotonicClock.now() }
            let input = UnsafeRawBufferPointer(rebasing: scratch[..<count])
            if pending.isEmpty && canDecode {
                // The common case: whole requests in one read, parsed in place.
                let consumed = drive(input)
                pending.append(contentsOf: input[consumed...])
            } else {
                pending.append(contentsOf: input)
            }
            pump()
        }
    }

    // MARK: Requests

    private var canDecode: Bool {
        handler == nil && !closeAfterOutput && !isClosed && output.count - sent < Self.maxQueuedOutput
    }

    /// Decodes and answers requests from `input` while the connection can take
    /// another; returns how many bytes were consumed.
    private func drive(_ input: UnsafeRawBufferPointer) -> Int {
        driving = true
        defer { driving = false }
        var offset = 0
        while canDecode {
            let (consumed, event) = decoder.decode(UnsafeRawBufferPointer(rebasing: input[offset...]))
            offset += consumed
            switch event {
            case .needMore:
                return offset
            case .continueExpected:
                output.append(contentsOf: HTTPResponseEncoder.continueResponse)
            case .request(let request, let keepAlive):
                startHandler(request, keepAlive: keepAlive)
            case .failure(let error):
                server.logger.debug("rejected a request", metadata: ["error": "\(error)", "remote": "\(remoteAddress.map { "\($0)" } ?? "?")"])
                closeAfterOutput = true
                answerUnread(error.response)
            }
        }
        return offset
    }

    private func startHandler(_ request: HTTPRequest, keepAlive: Bool) {
        let (receivedID, traceParent) = request.tracingFields()
        let requestID = receivedID ?? server.makeRequestID()
        handler = InFlight(
            task: nil, headOnly: request.method == .head, keepAlive: keepAlive, version: request.version,
            method: request.method, path: request.path, requestID: requestID, startedAt: requestStartedAt)
        let requestContext = HTTPRequestContext(
            eventLoop: context.loop,
            remoteAddress: remoteAddress,
            logger: server.logger,
            requestID: requestID,
            traceParent: traceParent
        )
        let responder = server.responder
        let task = Task.immediate(executorPreference: context.loop) { [self] in
            let metadata = HTTPRequestLogMetadata(requestID: requestID, traceParent: traceParent)
            let response = await HTTPRequestLogMetadata.$current.withValue(metadata) {
                await responder.respond(to: request, context: requestContext)
            }
            finish(response)
        }
        // A responder that never suspends has already finished.
        if handler != nil { handler?.task = task }
    }

    private func finish(_ response: HTTPResponse) {
        guard context.loop.inEventLoop else {
            context.loop.execute { self.finish(response) }
            return
        }
        guard let finished = handler else { return }
        handler = nil
        // Reported even when the client has gone and the response is never
        // sent: the request was answered all the same.
        server.report(finished.method, finished.path, response, startedAt: finished.startedAt,
                      requestID: finished.requestID, remoteAddress: remoteAddress)
        guard !isClosed else { return }
        let keepAlive = finished.keepAlive && !draining
        if !keepAlive { closeAfterOutput = true }
        // A request pipelined behind a long poll gets its head deadline from now.
        if !pending.isEmpty { requestStartedAt = MonotonicClock.now() }
        encode(response, headOnly: finished.headOnly, keepAlive: keepAlive, version: finished.version, requestID: finished.requestID)
        if !driving { pump() }
    }

    private func encode(_ response: HTTPResponse, headOnly: Bool, keepAlive: Bool, version: HTTPVersion, requestID: HTTPRequestID) {
        HTTPResponseEncoder.encode(
            response, headOnly: headOnly, keepAlive: keepAlive, requestVersion: version,
            date: context.dates.current(), requestID: requestID, into: &output
        )
    }

    /// Answers, and closes after, a request that could not be read (malformed,
    /// too large, too slow): it gets an id of its own and is reported too.
    private func answerUnread(_ response: HTTPResponse) {
        let requestID = server.makeRequestID()
        encode(response, headOnly: false, keepAlive: false, version: .http1_1, requestID: requestID)
        server.report(nil, nil, response, startedAt: requestStartedAt, requestID: requestID, remoteAddress: remoteAddress)
    }

    // MARK: Output and flow control

    /// Decodes what is buffered, sends what is queued, and settles interest
    /// and deadlines — after any change: bytes read, a response finished,
    /// the socket writable again.
    private func pump() {
        while true {
            let couldDecode = canDecode
            var consumed = 0
            if couldDecode && !pending.isEmpty {
                consumed = pending.withUnsafeBytes { drive($0) }
                pending.removeFirst(consumed)
            }
            guard flush(), !isClosed else { return }
            // Go round again only if decoding was held back by full output, or
            // made progress and more input is buffered.
            guard canDecode, !pending.isEmpty, consumed > 0 || !couldDecode else { break }
        }
        if closeAfterOutput && handler == nil {
            startLingering()
            return
        }
        settle()
    }

    /// Sends queued output; false when the socket is full (or broke).
    private func flush() -> Bool {
        while sent < output.count {
            let result = output.withUnsafeBytes { socket.write(UnsafeRawBufferPointer(rebasing: $0[sent...])) }
            switch result {
            case .bytes(let count):
                sent += count
            case .wouldBlock:
                setInterest(writable: true)
                if deadlines.reason != .write { setDeadline(.write) }
                return false
            case .failed:
                close()
                return false
            }
        }
        // Small buffers are kept for the next response; large ones are returned.
        output.removeAll(keepingCapacity: output.capacity <= 4096)
        sent = 0
        setInterest(writable: false)
        return true
    }

    /// Sets read interest and the deadline to match the current state.
    private func settle() {
        setInterest(readable: pending.count < maxPending)
        if handler != nil {
            setDeadline(.none)
        } else if decoder.isIdle && pending.isEmpty {
            setDeadline(.idle)
            if draining { close() }
        } else if decoder.isReceivingBody {
            if deadlines.reason != .body { setDeadline(.body) }
        } else if deadlines.reason != .head {
            setDeadline(.head, from: requestStartedAt)
        }
    }

    private func setInterest(readable: Bool? = nil, writable: Bool? = nil) {
        var wanted = interest
        if let readable {
            if readable { wanted.insert(.readable) } else { wanted.remove(.readable) }
        }
        if let writable {
            if writable { wanted.insert(.writable) } else { wanted.remove(.writable) }
        }
        guard wanted != interest, !isClosed else { return }
        interest = wanted
        try? context.loop.modify(fd: socket.fd, events: wanted)
    }

    // MARK: Closing

    var isClosed: Bool {
        if case .closed = phase { return true }
        return false
    }

    private func startLingering() {
        guard case .open = phase else { return }
        phase = .lingering(discarded: 0)
        pending = []
        socket.shutdownWrite()
        setInterest(readable: true, writable: false)
        setDeadline(.linger)
    }

    /// The server is shutting down: close now if idle, else after the response in flight.
    func beginDrain() {
        draining = true
        guard case .open = phase else { return }
        if handler == nil && decoder.isIdle && pending.isEmpty && output.isEmpty { close() }
    }

    /// The grace period is over: cancel whatever runs and close.
    func forceClose() {
        close()
    }

    /// Closes the socket at once; a request still in flight has its task cancelled.
    func close() {
        guard !isClosed else { return }
        phase = .closed
        handler?.task?.cancel()
        cancelTimer()
        context.loop.deregister(fd: socket.fd)
        socket.close()
        context.connections[socket.fd] = nil
        pending = []
        output = []
        server.connectionClosed()
    }

    // MARK: Deadlines

    /// Called when the connection's timer finds its deadline passed.
    func deadlineExpired(_ reason: ConnectionDeadlines.Reason) {
        switch reason {
        case .none:
            return
        case .idle, .write, .linger:
            close()
        case .head, .body:
            server.logger.debug("request timed out", metadata: ["remote": "\(remoteAddress.map { "\($0)" } ?? "?")"])
            guard handler == nil, case .open = phase else { return close() }
            closeAfterOutput = true
            let detail = reason == .head ? "the request head did not arrive in time" : "the request body did not arrive in time"
            answerUnread(HTTPError.timeout(detail).response)
            pump()
        }
    }
}
