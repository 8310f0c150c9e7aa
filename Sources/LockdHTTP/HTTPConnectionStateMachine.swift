/// The life of one HTTP/1.1 connection as a value: which bytes to decode,
/// when to answer, whether to keep the connection, which deadline applies,
/// when to linger and when to close.
///
/// It performs no I/O. Each method takes an event — input arrived, a
/// response is ready, the output drained, the deadline passed, the server
/// began draining, the peer hung up — and returns what the owner must do.
/// Times are `MonotonicClock` nanoseconds, passed in.
///
/// Rules the tests pin down: one request is answered at a time (pipelined
/// requests wait, decoded in order); a bad request is answered once and
/// nothing after it runs; the last response says `Connection: close` and is
/// followed by a lingering close, so unread input does not reset it away; an
/// idle connection closes after the idle timeout, a slow head or body gets
/// 408, a client that stops reading is dropped; a draining server closes idle
/// connections at once and others after their response.
struct HTTPConnectionStateMachine {
    /// How long each wait may last, in nanoseconds.
    struct Timeouts {
        var idle: UInt64
        var head: UInt64
        var body: UInt64
        var write: UInt64
        var linger: UInt64
    }

    enum Phase: Equatable {
        /// Reading and answering requests.
        case open
        /// The final response is out and the write side shut; input is
        /// dropped until the client closes, so unread bytes do not turn into
        /// a reset that destroys the response before the client reads it.
        case lingering(discarded: Int)
        case closed
    }

    /// What the one deadline is for, which decides its length and what expiry does.
    enum DeadlineReason: Equatable {
        /// None: a responder is producing the response.
        case none
        /// Between requests (keep-alive idle timeout): close quietly.
        case idle
        /// Receiving a request head, counted from its first byte: 408.
        case head
        /// Receiving a request body: 408.
        case body
        /// A client that does not read its response: close.
        case write
        /// Waiting for the client to close after the final response: close.
        case linger
    }

    /// What to do with input that arrived.
    enum InputAction: Equatable {
        /// Decode it with ``decode(_:queuedOutput:consumed:)``.
        case decode
        /// Consume and drop it (lingering, or closed).
        case discard
        /// Close: a lingering client sent too much.
        case close
    }

    /// What one step of decoding produced.
    enum DecodeAction {
        /// Stop: the input holds no further whole part, or no request may be decoded now.
        case needMore
        /// Queue `100 Continue`, then go on decoding.
        case sendContinue
        /// Answer the request ``decode(_:queuedOutput:spare:request:consumed:)``
        /// swapped into its `request`; nothing more is decoded until ``responseReady(now:)``.
        case respond
        /// Queue this error's response (with ``rejectionFraming``); nothing more is decoded.
        case reject(HTTPError)
    }

    /// How a response is to be written.
    struct Framing: Equatable {
        var headOnly: Bool
        var keepAlive: Bool
        var version: HTTPVersion
        /// For a streamed body: chunked (HTTP/1.1), else delimited by the close.
        var chunked = false
    }

    /// What the server should do as it begins to drain.
    enum DrainAction: Equatable {
        case none
        /// Nothing is in flight, buffered or unsent: close now.
        case close
        /// A body is being streamed: end it (cancel its producer), then close.
        case endStream
    }

    /// A streamed body's progress.
    private enum Stream {
        case flowing
        /// The backlog passed its bound: one last piece may still be written.
        case backlogFull
        /// No more pieces are taken; the connection closes once the backlog is out.
        case cutOff
    }

    /// What to do once the output is settled.
    enum SettleAction: Equatable {
        case none
        /// Shut the write side (after the final response) and drop input until the client closes.
        case linger
        case close
    }

    /// What to do when the deadline passes.
    enum DeadlineAction: Equatable {
        case none
        case close
        /// Queue this error's response (with ``rejectionFraming``), then settle.
        case reject(HTTPError)
    }

    /// Rejections are HTTP/1.1, have a body and close the connection.
    static let rejectionFraming = Framing(headOnly: false, keepAlive: false, version: .http1_1)

    let timeouts: Timeouts
    /// Output waiting for a slow reader beyond which no further request is decoded.
    let maxQueuedOutput: Int
    /// Bytes a lingering client may still send before it is cut off.
    let maxLingerBytes: Int
    /// Answers of 401 after which the connection closes.
    let maxUnauthorized: Int
    /// Answers of 401 so far.
    private var unauthorizedCount = 0

    private(set) var phase = Phase.open
    private(set) var deadlineReason = DeadlineReason.none
    /// When the deadline passes; `.max` for none.
    private(set) var deadline = UInt64.max
    /// The server is shutting down: no keep-alive, close when idle.
    private(set) var isDraining = false
    /// Input offered and not consumed yet (the owner keeps what decoding
    /// leaves and offers it again).
    private(set) var bufferedInput = 0

    private var decoder: HTTPRequestDecoder
    /// The request being answered, by how its response is to be framed.
    private var inFlight: Framing?
    /// The body being streamed for the request in flight, if it is.
    private var stream: Stream?
    /// No further request is read: the last response says `Connection: close`.
    private var closeAfterOutput = false
    /// When the first byte of the request being received arrived (the owner
    /// reports request durations from it).
    private(set) var requestStartedAt: UInt64 = 0

    init(limits: HTTPRequestLimits, timeouts: Timeouts, maxQueuedOutput: Int = 64 << 10, maxLingerBytes: Int = 1 << 20,
         maxUnauthorized: Int = .max) {
        self.decoder = HTTPRequestDecoder(limits: limits)
        self.timeouts = timeouts
        self.maxQueuedOutput = maxQueuedOutput
        self.maxLingerBytes = maxLingerBytes
        self.maxUnauthorized = maxUnauthorized
    }

    /// Whether a responder is producing a response now.
    var isAnswering: Bool { inFlight != nil }

    // MARK: Input

    /// Input is offered: `total` bytes, of which ``bufferedInput`` were offered before.
    mutating func inputArrived(total: Int, now: @autoclosure () -> UInt64) -> InputAction {
        switch phase {
        case .open:
            if total > bufferedInput, bufferedInput == 0, decoder.isIdle { requestStartedAt = now() }
            bufferedInput = total
            return .decode
        case .lingering(let discarded):
            let sum = discarded + total
            if sum > maxLingerBytes {
                phase = .closed
                return .close
            }
            phase = .lingering(discarded: sum)
            return .discard
        case .closed:
            return .discard
        }
    }

    /// Decodes from `input` while a request may be decoded now.
    /// - Parameter queuedOutput: bytes waiting to be sent; past ``maxQueuedOutput``
    ///   no further request is decoded until the client reads.
    /// - Parameter spare: the loop's spare storage (``HTTPLoopContext/spare``):
    ///   the request decoded next takes what it has none of yet.
    /// - Parameter request: the owner's request, kept from one to the
    ///   next: a request decoded is swapped into it (``HTTPRequestDecoder/moveRequest(into:)``),
    ///   whose parts the decoder takes for the next, emptied of fields and
    ///   query (``SpareRequestStorage/recycle(_:)``).
    /// - Parameter consumed: set to how many leading bytes were consumed (not
    ///   returned in a tuple with the action: see ``HTTPRequestDecoder/decodeStep(_:consumed:)``).
    /// - Returns: what happened.
    mutating func decode(_ input: UnsafeRawBufferPointer, queuedOutput: Int, spare: inout SpareRequestStorage,
                         request: inout HTTPRequest, consumed: inout Int) -> DecodeAction {
        consumed = 0
        guard case .open = phase, inFlight == nil, !closeAfterOutput, queuedOutput < maxQueuedOutput else { return .needMore }
        // Taken only here, with bytes to decode now: a connection idle, or
        // with a request pipelined behind one still being answered (a long
        // wait for a lock), must not sit on the loop's spare.
        if !input.isEmpty, !spare.isEmpty { decoder.adoptStorage(from: &spare) }
        let step = decoder.decodeStep(input, consumed: &consumed)
        bufferedInput -= consumed
        switch consume step {
        case .needMore:
            return .needMore
        case .continueExpected:
            return .sendContinue
        case .request(let keepAlive):
            decoder.moveRequest(into: &request)
            inFlight = Framing(headOnly: decoder.requestIsHead, keepAlive: keepAlive, version: request.version)
            return .respond
        case .failure(let error):
            closeAfterOutput = true
            return .reject(error)
        }
    }

    // MARK: Responses

    /// The responder finished; `unauthorized` when it answered 401.
    /// - Returns: how to write its response, or nil when it is to be dropped
    ///   (nothing was in flight, or the connection closed meanwhile).
    mutating func responseReady(now: @autoclosure () -> UInt64, unauthorized: Bool = false) -> Framing? {
        guard var framing = inFlight else { return nil }
        inFlight = nil
        guard case .open = phase else { return nil }
        if unauthorized { unauthorizedCount += 1 }
        framing.keepAlive = framing.keepAlive && !isDraining && unauthorizedCount < maxUnauthorized
        if !framing.keepAlive { closeAfterOutput = true }
        // A request pipelined behind a long poll gets its head deadline from now.
        if bufferedInput > 0 { requestStartedAt = now() }
        return framing
    }

    // MARK: Streamed bodies

    /// The responder's answer streams its body: its head goes out now, and
    /// the request stays in flight (nothing behind it is decoded) until
    /// ``streamEnded(now:)``.
    /// - Returns: how to frame it, or nil when it is to be dropped.
    mutating func streamStarted() -> Framing? {
        guard var framing = inFlight, case .open = phase else {
            inFlight = nil
            return nil
        }
        framing.chunked = framing.version.minor >= 1
        framing.keepAlive = framing.keepAlive && !isDraining && framing.chunked
        if !framing.keepAlive { closeAfterOutput = true }
        inFlight = framing
        stream = .flowing
        return framing
    }

    /// Whether a streamed body is being written, chunked.
    var isStreamingChunked: Bool { stream != nil && inFlight?.chunked == true }

    /// Whether the next piece of a streamed body may be queued.
    var streamTakesPieces: Bool {
        guard case .open = phase, let stream else { return false }
        return stream != .cutOff
    }

    /// A piece was queued, leaving `queuedOutput` bytes unsent.
    /// - Returns: whether the backlog is past `limit` (the producer should stop).
    mutating func streamPieceQueued(queuedOutput: Int, limit: Int) -> Bool {
        switch stream {
        case .flowing?:
            guard queuedOutput > limit else { return false }
            stream = .backlogFull
            closeAfterOutput = true
            return true
        case .backlogFull?:
            stream = .cutOff
            return true
        case .cutOff?, nil:
            return true
        }
    }

    /// The producer asked for the connection to close once its body ends
    /// (a reader it gave up on).
    mutating func closeAfterStream() {
        if stream != nil { closeAfterOutput = true }
    }

    /// The streamed body's producer returned.
    /// - Returns: whether to write the chunked body's last chunk, or nil when
    ///   no body was being streamed.
    mutating func streamEnded(now: @autoclosure () -> UInt64) -> Bool? {
        guard let ended = stream, let framing = inFlight else { return nil }
        stream = nil
        inFlight = nil
        guard case .open = phase else { return false }
        if bufferedInput > 0 { requestStartedAt = now() }
        return framing.chunked && ended == .flowing
    }

    // MARK: Settling

    /// After any change — input decoded, a response queued, output sent —
    /// with `queuedOutput` bytes still unsent: picks the deadline and says
    /// whether to linger or close.
    mutating func settle(queuedOutput: Int, now: UInt64) -> SettleAction {
        guard case .open = phase else { return .none }
        if queuedOutput > 0 {
            if deadlineReason != .write { setDeadline(.write, from: now) }
            return .none
        }
        if closeAfterOutput, inFlight == nil {
            phase = .lingering(discarded: 0)
            bufferedInput = 0
            setDeadline(.linger, from: now)
            return .linger
        }
        if inFlight != nil {
            setDeadline(.none, from: now)
        } else if decoder.isIdle, bufferedInput == 0 {
            if isDraining {
                phase = .closed
                return .close
            }
            setDeadline(.idle, from: now)
        } else if decoder.isReceivingBody {
            if deadlineReason != .body { setDeadline(.body, from: now) }
        } else if deadlineReason != .head {
            setDeadline(.head, from: requestStartedAt)
        }
        return .none
    }

    /// The deadline passed.
    mutating func deadlinePassed() -> DeadlineAction {
        let reason = deadlineReason
        setDeadline(.none, from: 0)
        switch reason {
        case .none:
            return .none
        case .idle, .write, .linger:
            phase = .closed
            return .close
        case .head, .body:
            guard case .open = phase, inFlight == nil, !closeAfterOutput else {
                phase = .closed
                return .close
            }
            closeAfterOutput = true
            return .reject(.timeout(reason == .head ? "the request head did not arrive in time" : "the request body did not arrive in time"))
        }
    }

    // MARK: Ending

    /// The server is shutting down: no keep-alive from now on.
    mutating func beginDrain(queuedOutput: Int) -> DrainAction {
        isDraining = true
        guard case .open = phase else { return .none }
        if stream != nil { return .endStream }
        guard inFlight == nil, decoder.isIdle, bufferedInput == 0, queuedOutput == 0 else { return .none }
        phase = .closed
        return .close
    }

    /// The connection is closed (the peer hung up — a half-close counts, as
    /// it does for a waiting request's cancellation — or the owner closed it).
    /// - Returns: whether a responder (or a streamed body's producer) was
    ///   running, whose task must be cancelled.
    mutating func closed() -> Bool {
        phase = .closed
        bufferedInput = 0
        setDeadline(.none, from: 0)
        return inFlight != nil
    }

    private mutating func setDeadline(_ reason: DeadlineReason, from start: UInt64) {
        deadlineReason = reason
        let timeout: UInt64
        switch reason {
        case .none:
            deadline = .max
            return
        case .idle: timeout = timeouts.idle
        case .head: timeout = timeouts.head
        case .body: timeout = timeouts.body
        case .write: timeout = timeouts.write
        case .linger: timeout = timeouts.linger
        }
        deadline = start &+ timeout
    }
}
