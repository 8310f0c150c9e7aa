import LockdTransport
import Logging

/// One client connection: a ``StreamSocket`` (plaintext or TLS) carrying
/// out what its ``HTTPConnectionStateMachine`` decides. Each request is
/// answered on the loop: at once when its responder can, else in a task
/// whose executor is the loop; responses are written in order,
/// batched into one `send` per read where they can be.
///
/// Requests are answered one at a time: while a response is being produced
/// the socket keeps reading (buffering pipelined requests, up to a bound)
/// so that a client's disconnect is seen — and the request's task cancelled —
/// at once.
final class HTTPConnection: StreamSocketDelegate, HTTPRequestLogMetadataSource, @unchecked Sendable {
    // Safe to share: `stream`, `server` and `context` never change after
    // init; every other property is read and written only on `context.loop`'s
    // thread — by the stream's delegate calls (made by the loop), and by
    // `finish`, which runs in a task whose executor is the loop and hops
    // there itself if it ever is not.

    let stream: StreamSocket
    let server: HTTPServer
    let context: HTTPLoopContext
    /// `context`'s loop, held here: read through `context` on every
    /// answer, it was retained and released around each use (~40
    /// instructions a request).
    let loop: EventLoop
    /// The client's address, as the kernel tells it when the connection is adopted.
    private let peerAddress: SocketAddress?
    /// Whether ``StreamSocketDelegate/streamOpened(_:)`` came (for TLS,
    /// once the handshake is done).
    private var isOpened = false
    /// The client's address once the stream is open (logs about a stream
    /// refused before then name no address, as they always have).
    private var remoteAddress: SocketAddress? { isOpened ? peerAddress : nil }
    /// The context every request is answered in, kept from one request to
    /// the next and reset field by field (``HTTPRequestContext/beginRequest(requestID:traceParent:)``):
    /// one made per request, and destroyed after it, cost ~0.15 k
    /// instructions. What it shares (loop, address, logger) is made once,
    /// with the connection. Lent to the answer in place, by short accesses
    /// that call nothing back: the runtime's exclusivity check would cost a
    /// lookup on each.
    @exclusivity(unchecked) private var requestContext: HTTPRequestContext
    /// Every call on it is a short mutation that calls nothing back: the
    /// runtime's exclusivity check would cost a lookup on each, several per request.
    @exclusivity(unchecked) private var machine: HTTPConnectionStateMachine
    private var task: Task<Void, Never>?
    /// The promise a request is answered by, while it is being kept.
    private var promise: HTTPPromise?
    /// The request being answered (while ``isExchangeOpen``), for the
    /// server's observer and `X-Request-Id`: kept from one request to the
    /// next and rewritten field by field, then completed in place by the
    /// answer. Building an exchange and moving it in cost a copy and a
    /// destroy of the whole value, and building it from parts at the answer
    /// ~0.5 k instructions more. Written only here, by short assignments
    /// that call nothing back: the runtime's exclusivity check would cost a
    /// lookup on each.
    @exclusivity(unchecked) private var exchange = HTTPExchange(
        method: nil, path: nil, route: nil, status: .ok, durationNanoseconds: 0, requestID: HTTPRequestID(prefix: "", number: 0),
        remoteAddress: nil)
    /// The request being answered (while its answer is started), kept
    /// from one request to the next: the decoder swaps each request's
    /// parts into it, the answer borrows it in place, and the loop's spare
    /// takes its storage back (``SpareRequestStorage/recycle(_:)``), which
    /// the decoder's next request takes in exchange. A request moved out
    /// of the decoder (into its event, the action, the responder) and
    /// destroyed after cost ~0.25 k instructions a request. Written only
    /// by ``decodeRequests(_:)``, which lends it to ``startResponder(_:)``
    /// and nothing else: the runtime's exclusivity check would cost a
    /// lookup on each access.
    @exclusivity(unchecked) private var request = HTTPRequest(
        method: .get, pathBytes: [], query: nil, version: .http1_1, headers: HTTPHeaders(), body: [])
    /// When the request in ``exchange`` started (0: unknown).
    private var exchangeStartedAt: UInt64 = 0
    /// Whether ``exchange`` is a request not answered yet.
    private var isExchangeOpen = false
    /// The `traceparent` of the request in ``exchange``, for its log metadata.
    private var exchangeTraceParent: String?
    /// The log metadata of the request in ``exchange``, bound for the
    /// thread while its answer is made in place
    /// (``HTTPRequestLogMetadata/current``): made only when a line is
    /// logged, from the exchange's id. Stored per request, it copied the id
    /// and the `traceparent` in and destroyed the last (~0.1 k instructions).
    var logMetadata: HTTPRequestLogMetadata? {
        HTTPRequestLogMetadata(requestID: exchange.requestID, traceParent: exchangeTraceParent)
    }
    /// The producer of a streamed response body.
    private var bodyTask: Task<Void, Never>?
    /// A pushed body's hook for the connection's end (or the server's drain).
    private var pushedBodyEnded: (@Sendable () -> Void)?
    /// True while requests are decoded, so a response finished synchronously
    /// is only queued: the decoding loop sends everything at its end.
    private var driving = false
    /// The clock reading of the last answer finished while decoding: the
    /// deadlines settled right after count from it (one reading, not two).
    private var answeredAt: UInt64?
    private var isClosed = false

    static let lingerTimeout = Duration.seconds(2)

    init(stream: StreamSocket, server: HTTPServer, context: HTTPLoopContext) {
        self.stream = stream
        self.server = server
        self.context = context
        self.loop = context.loop
        let peerAddress = try? stream.socket.remoteAddress()
        self.peerAddress = peerAddress
        self.requestContext = HTTPRequestContext(
            shared: HTTPRequestContext.Shared(
                eventLoop: context.loop, remoteAddress: peerAddress, logger: server.logger, loggerAddsMetadata: server.loggerAddsMetadata,
                fixedLogLevel: server.fixedLogLevel),
            requestID: HTTPRequestID(prefix: "", number: 0), traceParent: nil, parameters: PathParameters(), isAnsweredInPlace: false)
        let configuration = server.configuration
        self.machine = HTTPConnectionStateMachine(
            limits: server.limits,
            timeouts: .init(
                idle: MonotonicClock.nanoseconds(configuration.idleTimeout),
                head: MonotonicClock.nanoseconds(configuration.headTimeout),
                body: MonotonicClock.nanoseconds(configuration.bodyTimeout),
                write: MonotonicClock.nanoseconds(configuration.writeTimeout),
                linger: MonotonicClock.nanoseconds(Self.lingerTimeout)
            ),
            maxUnauthorized: configuration.maxUnauthorizedResponses
        )
    }

    /// Input buffered while a request is being answered, beyond which reading pauses.
    static func maxBufferedInput(_ limits: HTTPRequestLimits) -> Int {
        limits.maxRequestLineLength + limits.maxHeaderSectionLength + limits.maxBodyLength
    }

    // MARK: Stream events

    func streamOpened(_ stream: StreamSocket) {
        isOpened = true
        settle()
    }

    func streamReceived(_ stream: StreamSocket, _ input: UnsafeRawBufferPointer) -> Int {
        // A request's start is when its first bytes were there: the
        // loop's reading as the batch that read them began (a reading of
        // its own cost ~35 instructions a request). Its duration and its
        // head's deadline count from there.
        switch machine.inputArrived(total: input.count, now: loop.batchStartedAt) {
        case .discard:
            return input.count
        case .close:
            close()
            return input.count
        case .decode:
            break
        }
        answeredAt = nil
        var consumed = decodeRequests(input)
        guard !isClosed else { return input.count }
        settle(now: answeredAt)
        // Decoding stops while `maxQueuedOutput` bytes wait to be sent. If
        // settle's flush then sent them all, no writable event will come to
        // offer the requests pipelined behind, and the client, having sent
        // them, has nothing more to send: decode them now.
        while consumed < input.count && stream.queuedOutputCount == 0 {
            answeredAt = nil
            let more = decodeRequests(UnsafeRawBufferPointer(rebasing: input[consumed...]))
            guard !isClosed else { return input.count }
            settle(now: answeredAt)
            guard more > 0 else { break }
            consumed += more
        }
        return consumed
    }

    func streamWritable(_ stream: StreamSocket) {
        // Decoding may have been held back by output the client had not read.
        if !stream.resumeInput() { settle() }
    }

    func streamDeadlinePassed(_ stream: StreamSocket) {
        switch machine.deadlinePassed() {
        case .none:
            return
        case .close:
            close()
        case .reject(let error):
            server.logger.debug("request timed out", metadata: ["remote": "\(remoteAddress.map { "\($0)" } ?? "?")"])
            answerUnread(error.response)
            settle()
        }
    }

    func streamClosed(_ stream: StreamSocket, _ reason: StreamCloseReason) {
        switch reason {
        case .handshakeFailed, .handshakeTimedOut, .plaintextRefused, .tlsFailed:
            server.logger.debug("TLS connection refused", metadata: ["reason": "\(reason)", "remote": "\(remoteAddress.map { "\($0)" } ?? "?")"])
        case .connectFailed, .peerClosed, .failed:
            break
        }
        closed()
    }

    func plaintextRefusal(_ stream: StreamSocket) -> [UInt8]? {
        var bytes: [UInt8] = []
        let response = HTTPError.invalidRequest("this port speaks HTTPS (TLS): send the request to https://").response
        let requestID = server.makeRequestID()
        HTTPResponseEncoder.encode(
            response, headOnly: false, keepAlive: false, requestVersion: .http1_1, date: context.dates.current(),
            requestID: requestID, into: &bytes)
        server.report(nil, nil, response, startedAt: 0, requestID: requestID, remoteAddress: try? stream.socket.remoteAddress())
        return bytes
    }

    // MARK: Requests

    /// Decodes and answers requests from `input` while the machine allows;
    /// returns how many bytes were consumed.
    private func decodeRequests(_ input: UnsafeRawBufferPointer) -> Int {
        driving = true
        defer { driving = false }
        var offset = 0
        while !isClosed {
            var consumed = 0
            let action = machine.decode(UnsafeRawBufferPointer(rebasing: input[offset...]), queuedOutput: stream.queuedOutputCount,
                                        spare: &context.spare, request: &request, consumed: &consumed)
            offset += consumed
            switch consume action {
            case .needMore:
                return offset
            case .sendContinue:
                stream.queueOutput { $0.append(contentsOf: HTTPResponseEncoder.continueResponse) }
            case .respond:
                // Lent in place (an in-out access: a stored property
                // passed by value is copied, its parts retained, for the
                // call; through a pointer's `pointee` too).
                startResponder(&request)
                // An answer still to come (promised, or a task's) leaves
                // the path's storage to the exchange, which hands it to the
                // spare as the answer ends (`finish`): kept here while the
                // exchange shares it, emptying it allocated anew.
                if isExchangeOpen { request.pathBytes = [] }
                context.spare.recycle(&request)
                // The request ended the input: the decoder, idle after a
                // request, would find "need more" in no bytes and change
                // nothing (that call cost ~0.2 k instructions a request).
                if offset == input.count { return offset }
            case .reject(let error):
                server.logger.debug("rejected a request", metadata: ["error": "\(error)", "remote": "\(remoteAddress.map { "\($0)" } ?? "?")"])
                answerUnread(error.response)
            }
        }
        return offset
    }

    /// Starts the answer to `request` (in-out only so that it is lent in
    /// place: nothing here changes it).
    private func startResponder(_ request: inout HTTPRequest) {
        let (receivedID, traceParent) = request.tracingFields()
        let requestID = receivedID ?? server.makeRequestID()
        // Assigned only when it changes (most requests repeat the last one's).
        if !(exchange.method.map { $0.rawValue.hasSameBits(as: request.method.rawValue) } ?? false) { exchange.method = request.method }
        // Carried for an observer that reads it (an access log); else only
        // by an answer still to come, below: its storage goes back to the
        // loop's spare through the exchange (see `decodeRequests`).
        if server.observerReadsPath { exchange.pathBytes = request.pathBytes }
        exchange.requestID = requestID
        exchange.remoteAddress = remoteAddress
        exchangeStartedAt = machine.requestStartedAt
        isExchangeOpen = true
        // The id moved into the context, not copied (through its outlined
        // copy, and the copy kept here destroyed after the answer): the
        // answers that still need it read the exchange's, which only this
        // connection writes (a responder may replace the context).
        requestContext.beginRequest(requestID: consume requestID, traceParent: traceParent)
        // The log metadata is bound for the loop's thread while the answer
        // is made in place (a task local bound outside a task costs an
        // allocation and its free); as a task local in a deferred answer's
        // task, and in a task started for a promise's call (see
        // `HTTPPromise.inCallerContext`).
        // Assigned only when either is set (most requests have none): an
        // optional assigned is copied through an outlined function.
        if traceParent != nil || exchangeTraceParent != nil { exchangeTraceParent = traceParent }
        let outer = HTTPRequestLogMetadata.beginScope(self, in: context.logScope)
        defer { HTTPRequestLogMetadata.endScope(outer) }
        // Through the server unretained (this connection holds it, and is
        // held by its stream for the call): the answer closure, read from
        // the server's `let`, is then borrowed for the call, where it was
        // retained and released around it (~40 instructions a request).
        let answer = Unmanaged.passUnretained(server)._withUnsafeGuaranteedRef { server in
            server.answer(request, &requestContext)
        }
        // Bound, not assigned as an optional (see `finish`); assigned only
        // when it changes (most requests repeat the last one's route).
        // (Read from the context's kept name in place: through `route`'s
        // getter it was copied out.)
        if requestContext.hasRoute, let route = requestContext.keptRoute {
            if !(exchange.route.map { $0.hasSameBits(as: route) } ?? false) { exchange.route = route }
        } else if exchange.route != nil {
            exchange.route = nil
        }
        switch consume answer {
        case .now(let response):
            finish(response)
        case .shared(let shared):
            // Lent from the shared object, held for the call: without the
            // extended lifetime the answer was destroyed first and the
            // response copied out for the call, then destroyed (~0.27 k
            // instructions a request).
            withExtendedLifetime(shared) { finish(shared.response) }
        case .later(let work):
            startTask(work, request, requestID: exchange.requestID, traceParent: traceParent)
        case .promised(let start):
            if !server.observerReadsPath { exchange.pathBytes = request.pathBytes }
            let metadata = HTTPRequestLogMetadata(requestID: exchange.requestID, traceParent: traceParent)
            let promise = if let filter = requestContext.promisedResponseFilter {
                HTTPPromise(connection: self, metadata: metadata, filter: filter)
            } else {
                HTTPPromise(connection: self, metadata: metadata)
            }
            // Set first: a promise kept at once clears it.
            self.promise = promise
            requestContext.isAnsweredInPlace = false
            // The context is lent, not copied: only a request started while
            // decoding (nothing else then writes `requestContext`) may lend it.
            assert(driving, "a promised answer started outside decodeRequests")
            Self.call(start, request, lending: &requestContext, promise)
        }
    }

    /// Runs a deferred answer's `work` in a task on the loop. Out of line:
    /// inlined in ``startResponder(_:)``, the task's creation had every
    /// request look up `TaskPriority?`'s metadata and size stack space for it
    /// (~15 instructions a request answered at once).
    @inline(never)
    private func startTask(_ work: @escaping HTTPAnswer.Work, _ request: HTTPRequest, requestID: HTTPRequestID, traceParent: String?) {
        if !server.observerReadsPath { exchange.pathBytes = request.pathBytes }
        // Changed in place, not copied: the answer no longer reads it.
        requestContext.isAnsweredInPlace = false
        let metadata = HTTPRequestLogMetadata(requestID: requestID, traceParent: traceParent)
        let task = Task.immediate(executorPreference: context.loop) { [self, requestContext] in
            await HTTPRequestLogMetadata.$bound.withValue(metadata) { finish(await work(request, requestContext)) }
        }
        // Work that never suspends has already finished.
        if machine.isAnswering { self.task = task }
    }

    /// Calls a promised answer's `start` with the connection's context lent
    /// in place, through an in-out access: passed as the stored property it
    /// is, the context was copied for the call (its parts retained through
    /// its value witness) and destroyed after it, ~0.4 k instructions a
    /// promised request. Nothing `start` runs writes the connection's
    /// context: only ``startResponder(_:)`` does, and no request is decoded
    /// while one is being started (a promise kept at once finds `driving`
    /// set, and leaves the requests behind it to the read that decodes).
    private static func call(
        _ start: HTTPAnswer.Start, _ request: HTTPRequest, lending context: inout HTTPRequestContext, _ promise: HTTPPromise
    ) {
        start(request, context, promise)
    }

    /// Binds `source`'s log metadata for the calling thread (see
    /// ``HTTPRequestLogMetadata/beginScope(_:)``): on this connection's loop
    /// through the scope its context holds, found by the thread's key only
    /// elsewhere. For a promise kept on its connection's loop, as a store's
    /// reply keeps it: the key's lookup, with the scope retained and
    /// released, cost ~100 instructions a response.
    func beginLogScope(_ source: some HTTPRequestLogMetadataSource) -> HTTPRequestLogMetadata.ThreadScope.Outer {
        loop.inEventLoop ? HTTPRequestLogMetadata.beginScope(source, in: context.logScope) : HTTPRequestLogMetadata.beginScope(source)
    }

    /// Writes the answer to the request in flight (from any thread: it hops to the loop).
    func finish(_ response: HTTPResponse) {
        guard loop.inEventLoop else {
            loop.execute { self.finish(response) }
            return
        }
        // Cleared only when set (most answers are given in place, with
        // neither): assigning nil releases what is there, nil or not.
        if task != nil { task = nil }
        if promise != nil { promise = nil }
        // One reading for the response's own deadline, the report, the
        // framing and the connection's deadlines after.
        let now = MonotonicClock.now()
        if let deadline = response.deadline, now >= deadline { return finishLate(response, deadline) }
        guard isExchangeOpen else {
            response.bodyStream?.dropped()
            response.onDropped?()
            return
        }
        isExchangeOpen = false
        // Reported even when the client has gone and the response is never
        // sent: the request was answered all the same.
        // The route the answer named in the context, unless the response
        // names its own. Bound, not assigned as an optional: swiftc
        // outlines the copy of a `String?` and merges it with other
        // optionals' copies into one through the type's value witness
        // (~0.13 k instructions a request).
        if let route = response.route { exchange.route = route }
        exchange.status = response.status
        exchange.durationNanoseconds = exchangeStartedAt == 0 ? 0 : now &- exchangeStartedAt
        server.report(&exchange)
        // Not kept while the connection idles. An answer given outside a
        // read (a store's reply) hands the path's storage to the loop's
        // spare (`decodeRequests` left it here); during a read the request
        // being answered still shares it, and the spare takes it from that.
        if driving {
            if exchange.pathBytes != nil { exchange.pathBytes = nil }
        } else {
            context.spare.keepPath(of: &exchange)
        }
        // Shutdown began, but this loop's drain job may not have run yet:
        // the response is the connection's last all the same.
        if server.isDraining, !machine.isDraining { beginDrain() }
        if let body = response.bodyStream { return startStreaming(response, body, requestID: exchange.requestID) }
        // An answer that hands something over (a grant) goes only to a
        // client still there — not to one that half-closed either. Its
        // hang-up may wait unseen: this loop sees it at its next epoll, but
        // runs the rest of its batch first — this very request, read with
        // its FIN; a task resumed before a long job ran; a store reply read
        // before the client's event in the same batch. `send` would take
        // the answer (a peer's FIN does not fail it), and nobody would hold
        // the grant. The socket is looked at only when the loop cannot rule
        // that out (most answers need no `poll`).
        if response.onDropped != nil, !isClosed, loop.hangUpMayBeUnseen(at: now), stream.socket.peerHasClosed() {
            // Answers queued before this one (requests read with it, their
            // answers sent at the read's end) were given to a client still
            // there: they go out first, or a grant among them is held by nobody.
            if stream.queuedOutputCount > 0 { _ = stream.flush() }
            close()
        }
        guard let framing = machine.responseReady(now: now, unauthorized: response.status.code == 401) else {
            response.onDropped?()
            return
        }
        encode(response, framing, requestID: &exchange.requestID)
        guard !driving else {
            answeredAt = now
            return
        }
        // Requests pipelined behind this one are decoded now; that also
        // sends. Without any (most answers given outside a read: a store's
        // reply), `settle` sends and updates the socket's interest, which
        // `resumeInput` worked out once before it (~90 instructions).
        if !(stream.hasInputToResume && stream.resumeInput()) { settle(now: now) }
    }

    /// Drops a response reached only after its ``HTTPResponse/deadline``,
    /// and writes ``HTTPResponse/late()`` instead (to a client still there).
    private func finishLate(_ response: HTTPResponse, _ deadline: UInt64) {
        // The log says what the client gets: nothing once it has gone.
        let outcome: Logger.Message = isExchangeOpen
            ? "a response was reached only after its deadline; answered 503 instead"
            : "a response was reached only after its deadline; dropped it (the client had gone)"
        server.logger.warning(outcome, metadata: [
            "status": .stringConvertible(response.status.code),
            "late_ms": .stringConvertible((MonotonicClock.now() - deadline) / 1_000_000),
        ])
        response.bodyStream?.dropped()
        response.onDropped?()
        var late = HTTPResponse.late()
        late.route = response.route
        finish(late)
    }

    // MARK: Streamed bodies

    /// Sends the head of a response whose body streams, then runs its producer.
    private func startStreaming(_ response: HTTPResponse, _ body: HTTPResponseBodyStream, requestID: HTTPRequestID) {
        guard let framing = machine.streamStarted() else { return body.dropped() }
        let date = context.dates.current()
        stream.queueOutput { output in
            HTTPResponseEncoder.encodeStreamHead(
                response, chunked: framing.chunked, keepAlive: framing.keepAlive, requestVersion: framing.version,
                date: date, requestID: requestID, into: &output)
        }
        if !driving { settle() }
        guard !framing.headOnly else {
            body.dropped()
            return endStreaming()
        }
        let writer = HTTPResponseBodyWriter(connection: self)
        switch body.producer {
        case .task(let produce):
            // A task of its own, started after this event: the head leaves first.
            bodyTask = Task(executorPreference: context.loop) { [self] in
                await produce(writer)
                endStreaming()
            }
        case .pushed(let start, let ended):
            pushedBodyEnded = ended
            start(writer)
        }
    }

    /// Queues one piece of a streamed body (on the loop); see ``HTTPResponseBodyWriter/write(_:)``.
    func writeBodyPiece(_ bytes: [UInt8]) -> HTTPResponseBodyWriter.WriteResult {
        guard !isClosed, machine.streamTakesPieces else { return .closed }
        let chunked = machine.isStreamingChunked
        stream.queueOutput { output in
            if chunked { HTTPResponseEncoder.appendChunk(bytes, to: &output) } else { output += bytes }
        }
        let full = machine.streamPieceQueued(queuedOutput: stream.queuedOutputCount, limit: server.configuration.maxStreamBacklog)
        settle()
        if isClosed { return .closed }
        return full ? .backlogFull : .written
    }

    /// Closes the connection once the streamed body ends (on the loop).
    func closeAfterBody() {
        machine.closeAfterStream()
    }

    /// The producer returned (or a pushed body ended): end the body, then
    /// serve what waits behind it.
    func endStreaming() {
        guard loop.inEventLoop else {
            loop.execute { self.endStreaming() }
            return
        }
        bodyTask = nil
        pushedBodyEnded = nil
        guard let terminate = machine.streamEnded(now: MonotonicClock.now()) else { return }
        if terminate { stream.queueOutput { $0 += HTTPResponseEncoder.lastChunk } }
        guard !driving else { return }
        if !stream.resumeInput() { settle() }
    }

    /// In-out only so that the exchange's id is lent, not copied and
    /// destroyed (through its storage's value witnesses: ~0.1 k
    /// instructions a request), as passing a class's stored property does.
    private func encode(_ response: HTTPResponse, _ framing: HTTPConnectionStateMachine.Framing, requestID: inout HTTPRequestID) {
        // Written in place into the output queue, in room the encoder
        // bounds; the date's bytes held in place (no array to retain).
        context.dates.currentInline().withBytes { date in
            let bound = HTTPResponseEncoder.maxEncodedCount(response, headOnly: framing.headOnly, date: date, requestID: requestID)
            stream.queueOutput(atMost: bound) { start in
                HTTPResponseEncoder.encode(
                    response, headOnly: framing.headOnly, keepAlive: framing.keepAlive, requestVersion: framing.version,
                    date: date, requestID: requestID, at: start)
            }
        }
    }

    /// Answers, and closes after, a request that could not be read (malformed,
    /// too large, too slow): it gets an id of its own and is reported too.
    private func answerUnread(_ response: HTTPResponse) {
        var requestID = server.makeRequestID()
        encode(response, HTTPConnectionStateMachine.rejectionFraming, requestID: &requestID)
        server.report(nil, nil, response, startedAt: machine.requestStartedAt, requestID: requestID, remoteAddress: remoteAddress)
    }

    // MARK: Output and deadlines

    /// Sends what is queued, then lets the machine pick the deadline and
    /// decide on lingering or closing; `now`: a clock reading taken just
    /// before, if there is one.
    private func settle(now: UInt64? = nil) {
        guard !isClosed else { return }
        if case .failure = stream.flush() { return closed() }
        switch machine.settle(queuedOutput: stream.queuedOutputCount, now: now ?? MonotonicClock.now()) {
        case .none:
            break
        case .linger:
            stream.shutdownOutput()
        case .close:
            return close()
        }
        stream.setDeadline(machine.deadline)
    }

    // MARK: Closing

    /// The server is shutting down: close now if idle, else after the
    /// response in flight (a streamed body is ended: its producer is cancelled).
    func beginDrain() {
        guard stream.isOpen else { return close() }
        switch machine.beginDrain(queuedOutput: stream.queuedOutputCount) {
        case .none: break
        case .close: close()
        case .endStream:
            bodyTask?.cancel()
            pushedBodyEnded?()
        }
    }

    /// The grace period is over: cancel whatever runs and close.
    func forceClose() {
        close()
    }

    /// Closes the socket at once; a request still in flight has its task cancelled.
    func close() {
        guard !isClosed else { return }
        stream.close()
        closed()
    }

    /// Forgets the connection once its stream is closed.
    private func closed() {
        guard !isClosed else { return }
        isClosed = true
        if machine.closed() {
            task?.cancel()
            promise?.cancellation.cancel()
            bodyTask?.cancel()
        }
        let ended = pushedBodyEnded
        task = nil
        promise = nil
        bodyTask = nil
        pushedBodyEnded = nil
        ended?()
        context.connections[stream.socket.fd] = nil
        server.connectionClosed()
    }
}
