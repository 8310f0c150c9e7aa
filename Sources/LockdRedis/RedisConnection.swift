import Dispatch
import LockdTransport
import Logging
import RESP

/// One connection to Redis, owned by one event loop: a ``StreamSocket``
/// (plaintext or TLS) carrying out what its ``RedisConnectionStateMachine``
/// decides.
///
/// Everything except `init` runs on the owning loop's thread. Replies are
/// decoded there, in place, from one large read per readiness event, and each
/// waiting caller is resumed there; bytes from many callers go out together in
/// one write, scheduled once per loop iteration.
final class RedisConnection: StreamSocketDelegate, IterationFlushing, @unchecked Sendable {
    // Safe to share: the immutable `let`s are Sendable values; `ioState` is
    // touched only on `loop`'s thread — every method that reaches it is
    // documented "loop thread only" and goes through `io`, which checks that
    // in debug builds. (`LoopBound` would check it always, but its generic
    // accessor costs a value-witness copy per access on the per-command path.)
    typealias Continuation = UnsafeContinuation<Result<RESPValue, RedisError>, Never>

    /// Who waits for a reply.
    enum Waiter {
        /// A suspended caller.
        case continuation(Continuation)
        /// Internal work (resubscribing, unsubscribing) run on the loop.
        case callback((Result<RESPValue, RedisError>) -> Void)
        /// A script call answered by callback, which may send itself again.
        case script(RedisScriptCall)
    }

    typealias Machine = RedisConnectionStateMachine<Waiter>

    /// The loop that owns this connection.
    let loop: EventLoop
    private let host: String
    private let port: UInt16
    private let logger: Logger
    private let decoder: RESPDecoder
    private let maxUnreadBytes: Int
    /// TLS settings for `rediss://`, or why they cannot be used; nil for plain TCP.
    private let tlsContext: Result<TLSClientContext, RedisError>?
    private let counters: RedisConnectionCounters
    private let ioState: IOState

    /// The loop-confined state (loop thread only).
    private var io: IOState {
        assert(loop.inEventLoop, "RedisConnection used off its event loop")
        return ioState
    }

    /// Loop-confined state; a class so that reading it costs one retain,
    /// not a copy of every field.
    ///
    /// The fields every command and reply touch are `@exclusivity(unchecked)`:
    /// the runtime's check cost ~100 instructions an access, eight a lock
    /// request. Safe: they are touched on the loop's thread only, and no
    /// access spans a call that can reach them again — the machine's
    /// closures only read a waiter (`nextReplyReadInPlace`) or write to the
    /// socket (`withUnwrittenBytes`; `StreamSocket.write` never calls its
    /// delegate back), and every action is performed after the machine's
    /// method has returned.
    private final class IOState {
        @exclusivity(unchecked) var machine: Machine
        /// The connection's socket; the machine counts a TLS handshake as connecting.
        @exclusivity(unchecked) var stream: StreamSocket?
        /// Counts sockets opened, so a late name lookup for an abandoned attempt is ignored.
        var generation: UInt64 = 0
        @exclusivity(unchecked) var flushScheduled = false
        /// The machine's earliest deadline (command and connect timeouts).
        @exclusivity(unchecked) var deadline = LoopDeadline()
        var reconnectTimer: TimerID?
        var reportedDown = false
        /// Counted in `counters`: started, ready now, ready before.
        var counted = false
        var isUp = false
        var hasBeenUp = false
        var onReady: (() -> Void)?
        var onMessage: ((RedisPubSubMessage, RedisSubscriptionKind) -> Void)?
        var onServerUnsubscribe: ((String) -> Void)?
        var onLost: (() -> Void)?

        init(machine: Machine) {
            self.machine = machine
        }
    }

    init(
        configuration: RedisConfiguration, loop: EventLoop, isSubscriber: Bool, seed: UInt64,
        tlsContext: Result<TLSClientContext, RedisError>?, counters: RedisConnectionCounters = RedisConnectionCounters(), logger: Logger
    ) {
        let settings = Machine.Settings(
            username: configuration.username,
            password: configuration.password,
            database: configuration.database,
            clientName: configuration.clientName,
            prefersRESP3: configuration.prefersRESP3,
            isSubscriber: isSubscriber,
            commandTimeout: MonotonicClock.nanoseconds(configuration.commandTimeout),
            connectTimeout: MonotonicClock.nanoseconds(configuration.connectTimeout),
            endpoint: "\(configuration.host):\(configuration.port)"
        )
        let backoff = ReconnectBackoff(initial: configuration.initialReconnectDelay, maximum: configuration.maximumReconnectDelay, seed: seed)
        self.loop = loop
        self.host = configuration.host
        self.port = configuration.port
        self.logger = logger
        self.decoder = RESPDecoder(limits: configuration.limits)
        self.maxUnreadBytes = configuration.limits.maxBulkLength + configuration.limits.maxLineLength + 1024
        self.tlsContext = tlsContext
        self.counters = counters
        self.ioState = IOState(machine: Machine(settings: settings, backoff: backoff))
    }

    // MARK: Used by the client (loop thread only)

    /// Starts connecting now rather than at the first command.
    func start() {
        let state = io
        perform(state.machine.start(now: MonotonicClock.now()))
    }

    /// Sends a command expecting `replies` frames; `waiter` is resumed on this loop.
    /// With `now`, what is queued is written at once rather than with the
    /// loop's next flush (this loop's thread only).
    func send(_ arguments: [RESPBulk], replies: Int = 1, id: UInt64, waiter: Waiter, now writeNow: Bool = false) {
        let state = io
        perform(state.machine.send(arguments, replies: replies, id: id, waiter: waiter, now: MonotonicClock.now()))
        if writeNow { flush() }
    }

    /// Sends `call` (`head` is how it names its script), its keys and
    /// arguments written by the call straight into the bytes to send;
    /// `waiter` is resumed on this loop. `now` is a clock reading taken
    /// just before (its deadline's start).
    // `waiter` is consumed, and handed on consumed into the machine's queue:
    // borrowed, it was copied into the queue (the call retained) and the
    // caller's released after (~40 instructions a call).
    func sendScript(_ call: RedisScriptCall, head: borrowing RESPEncodedArguments, id: UInt64, waiter: consuming Waiter, now: UInt64) {
        let state = io
        guard state.machine.state == .ready else {
            return perform(state.machine.sendScript(head: head, keyCount: call.keyCount, argumentRoom: call.argumentRoom, id: id,
                                                    waiter: waiter, now: now) { call.writeArguments(&$0) })
        }
        sendScriptWhileReady(call, head: head, id: id, waiter: waiter, now: now)
    }

    /// ``sendScript(_:head:id:waiter:now:)`` of a script call whose reply
    /// it waits for itself (`.script(call)`), only while this connection is
    /// ready; false, and nothing sent, otherwise. While ready it calls no
    /// caller back and touches no other connection or the router: the
    /// encoder, the call's ``RedisScriptCall/writeArguments(_:)`` and the
    /// loop's flush list and timers only (see ``RedisScriptCall/send(now:)``,
    /// which lends this connection unretained). The waiter takes
    /// `reference`, a reference to `call` given up by the caller, when
    /// this sends (and only then).
    func sendScriptIfReady(_ call: RedisScriptCall, head: borrowing RESPEncodedArguments, id: UInt64,
                           handing reference: Unmanaged<RedisScriptCall>, now: UInt64) -> Bool {
        guard io.machine.state == .ready else { return false }
        sendScriptWhileReady(call, head: head, id: id, waiter: .script(reference.takeRetainedValue()), now: now)
        return true
    }

    @inline(__always)
    private func sendScriptWhileReady(_ call: RedisScriptCall, head: borrowing RESPEncodedArguments, id: UInt64, waiter: consuming Waiter,
                                      now: UInt64) {
        io.machine.sendScriptWhileReady(head: head, keyCount: call.keyCount, argumentRoom: call.argumentRoom, id: id,
                                        waiter: consume waiter, now: now) { call.writeArguments(&$0) }
        // What performing its action, `.flush`, does.
        scheduleFlush()
        armTimer()
    }

    /// Sends `commands` back to back; `waiter` gets one `.array` of their replies.
    func sendPipeline(_ commands: [[RESPBulk]], id: UInt64, waiter: Waiter) {
        let state = io
        perform(state.machine.sendPipeline(commands, id: id, waiter: waiter, now: MonotonicClock.now()))
    }

    /// The caller of command `id` gave up waiting; `answeringAtOnce`: see
    /// ``RedisConnectionStateMachine/cancel(id:now:answeringAtOnce:)``.
    func cancel(id: UInt64, answeringAtOnce: Bool = false) {
        let state = io
        perform(state.machine.cancel(id: id, now: MonotonicClock.now(), answeringAtOnce: answeringAtOnce))
    }

    /// Closes for good; waiting commands fail with `shutDown`.
    func shutdown() {
        let state = io
        perform(state.machine.shutdown())
    }

    /// Commands waiting on this connection.
    var load: Int { io.machine.load }

    /// Whether a command sent now would be written or held rather than failed.
    var acceptsCommands: Bool { io.machine.acceptsCommands }

    /// Installs pub/sub hooks: `onReady` after every successful handshake,
    /// `onMessage` for each published message, `onServerUnsubscribe` when
    /// the server drops a shard channel by itself (its slot moved).
    func setHandlers(
        onReady: @escaping () -> Void, onMessage: @escaping (RedisPubSubMessage, RedisSubscriptionKind) -> Void,
        onServerUnsubscribe: @escaping (String) -> Void = { _ in }
    ) {
        let state = io
        state.onReady = onReady
        state.onMessage = onMessage
        state.onServerUnsubscribe = onServerUnsubscribe
    }

    /// Installs a hook called whenever the connection breaks or an attempt
    /// to open it fails (not when it is shut down): a Sentinel or Cluster
    /// client then checks whether the master moved.
    func setLostHandler(_ onLost: @escaping () -> Void) {
        io.onLost = onLost
    }

    // MARK: Actions

    /// Carries out `action`, taken consumed and switched on as it is moved:
    /// lent, it was destroyed after each call through the value witness of
    /// its type (read from its metadata, ~57 instructions a command).
    private func perform(_ action: consuming Machine.Action) {
        let state = io
        switch consume action {
        case .none:
            break
        case .connect:
            if !state.counted {
                state.counted = true
                counters.connections.add(1, ordering: .relaxed)
            }
            openSocket()
        case .flush:
            scheduleFlush()
        case .succeed(let waiter, let value):
            // A command left the queue: no deadline is nearer than the one
            // armed, so the timer needs no look (see `armTimer`).
            waiter.resume(.success(value))
            return
        case .fail(let waiter, let error):
            waiter.resume(.failure(error))
        case .failAll(let failures):
            for (waiter, error) in failures { waiter.resume(.failure(error)) }
        case .deliver(let message, let kind):
            state.onMessage?(message, kind)
        case .serverUnsubscribed(let channel):
            state.onServerUnsubscribe?(channel)
        case .becameReady:
            if state.reportedDown {
                logger.info("Redis connection ready again", metadata: ["redis.endpoint": "\(host):\(port)"])
            }
            state.reportedDown = false
            if !state.isUp { counters.ready.add(1, ordering: .relaxed) }
            if state.hasBeenUp { counters.reconnects.add(1, ordering: .relaxed) }
            state.isUp = true
            state.hasBeenUp = true
            // The handshake's timer may be later than the held commands' deadlines.
            state.deadline.cancel(on: loop)
            _ = state.deadline.set(.max)
            state.onReady?()
            scheduleFlush()
        case .disconnect(let reason, let failing, let next):
            if state.isUp { counters.ready.subtract(1, ordering: .relaxed) }
            state.isUp = false
            if next == .stop, state.counted {
                state.counted = false
                counters.connections.subtract(1, ordering: .relaxed)
            }
            closeSocket()
            report(reason, next: next)
            for (waiter, error) in failing { waiter.resume(.failure(error)) }
            if next != .stop, reason.kind != .cancelled { state.onLost?() }
            switch next {
            case .reconnectNow:
                openSocket()
            case .reconnect(let delay):
                state.reconnectTimer = loop.scheduleTimer(after: delay) { [self] in
                    io.reconnectTimer = nil
                    perform(io.machine.reconnectDue(now: MonotonicClock.now()))
                }
            case .stop:
                state.deadline.cancel(on: loop)
                _ = state.deadline.set(.max)
                if let timer = state.reconnectTimer { loop.cancelTimer(timer) }
                state.reconnectTimer = nil
                return
            }
        }
        armTimer()
    }

    /// Logs why the connection closed. A refusal that a setting must mend
    /// (credentials, database, certificate, TLS mismatch) is an error,
    /// repeated once per 10 s across the client's connections while it
    /// lasts; an outage is one warning until the connection is back.
    private func report(_ reason: RedisError, next: Machine.Next) {
        let state = io
        let metadata: Logger.Metadata = ["redis.endpoint": "\(host):\(port)", "redis.error": "\(reason)"]
        if next == .stop || reason.kind == .cancelled || reason.kind == .timeout {
            logger.debug("Redis connection closed", metadata: metadata)
        } else if reason.needsSettingsFixed {
            state.reportedDown = true
            if let suppressed = counters.refusals.admit() {
                logger.error("Redis refuses lockd; retrying", metadata: metadata.merging(["suppressed": .stringConvertible(suppressed)]) { $1 })
            } else {
                logger.debug("Redis still refuses lockd", metadata: metadata)
            }
        } else if state.reportedDown {
            logger.debug("Redis still unavailable", metadata: metadata)
        } else {
            logger.warning(state.hasBeenUp ? "Redis connection lost; reconnecting" : "cannot connect to Redis; retrying", metadata: metadata)
            state.reportedDown = true
        }
    }

    // MARK: Timers

    /// Keeps one timer armed for the machine's earliest deadline; a timer
    /// that fires early just re-arms. While ready, commands queue with one
    /// timeout, so deadlines only grow and an armed timer is never late:
    /// that skips this work for every command.
    private func armTimer() {
        let state = io
        if state.deadline.isArmed, state.machine.state == .ready { return }
        guard let deadline = state.machine.nextDeadline else { return }
        if state.deadline.set(deadline) {
            state.deadline.arm(on: loop) { [self] in
                _ = io.deadline.expired(now: MonotonicClock.now())
                perform(io.machine.tick(now: MonotonicClock.now()))
            }
        }
    }

    // MARK: Socket

    private func openSocket() {
        let state = io
        if case .failure(let error)? = tlsContext {
            // Unusable TLS files: no attempt can succeed, and each says why.
            perform(state.machine.connectFailed(error))
            return
        }
        state.generation &+= 1
        let generation = state.generation
        let (host, port) = (self.host, self.port)
        // Name lookup can block for seconds: never on the loop's thread.
        DispatchQueue.global().async { [self] in
            let address = Result { try SocketAddress.resolve(host: host, port: port) }
            loop.execute { [self] in connect(to: address, generation: generation) }
        }
    }

    private func connect(to address: Result<SocketAddress, any Error>, generation: UInt64) {
        let state = io
        guard state.generation == generation, state.machine.state == .connecting else { return }
        let tls: StreamSocket.TLS? = switch tlsContext {
        case .success(let context)?: .client(context, serverName: host)
        case .failure?, nil: nil
        }
        do {
            state.stream = try StreamSocket.connect(to: address.get(), on: loop, tls: tls, delegate: self)
        } catch {
            perform(state.machine.connectFailed(RedisError(.unreachable, message: "cannot connect to Redis at \(host):\(port): \(error)")))
        }
    }

    private func closeSocket() {
        let state = io
        state.stream?.close()
        state.stream = nil
    }

    // MARK: Stream events

    func streamOpened(_ stream: StreamSocket) {
        let state = io
        guard state.stream === stream else { return }
        perform(state.machine.connected())
    }

    /// Decodes every whole reply in `input`, in place.
    func streamReceived(_ stream: StreamSocket, _ input: UnsafeRawBufferPointer) -> Int {
        let state = io
        let decoder = self.decoder
        var offset = 0
        // (Nothing left: no frame to look for — the usual end, after the
        // last reply of a read.)
        while offset < input.count, state.stream === stream {
            // A script call's plain reply is checked but not decoded: its
            // caller reads the fields it wants where they lie (`RESPReply`).
            if state.machine.nextReplyReadInPlace(by: \.readsInPlace),
               let length = decoder.plainFrameLength(UnsafeRawBufferPointer(rebasing: input[offset...])) {
                let frame = UnsafeRawBufferPointer(rebasing: input[offset..<(offset + length)])
                offset += length
                state.machine.receivedInPlace()?.resume(inPlace: frame)
                continue
            }
            let decoded: (value: RESPValue, consumed: Int)?
            do {
                decoded = try decoder.decode(UnsafeRawBufferPointer(rebasing: input[offset...]))
            } catch {
                lost(RedisError(.protocolViolation, message: "\(error)"))
                break
            }
            guard let decoded else {
                if input.count - offset > maxUnreadBytes {
                    lost(RedisError(.protocolViolation, message: "a reply exceeds \(maxUnreadBytes) bytes"))
                    break
                }
                return offset
            }
            offset += decoded.consumed
            perform(state.machine.received(decoded.value, now: MonotonicClock.now()))
        }
        // Everything was read (or the stream was closed): nothing is kept.
        return input.count
    }

    func streamWritable(_ stream: StreamSocket) {
        flush()
    }

    func streamClosed(_ stream: StreamSocket, _ reason: StreamCloseReason) {
        let state = io
        guard state.stream === stream else { return }
        state.stream = nil
        let error: RedisError
        switch reason {
        case .connectFailed(let cause):
            error = RedisError(.unreachable, message: "cannot connect to Redis at \(host):\(port): \(cause)")
        case .handshakeFailed(let cause):
            // Like a wrong password: a setting to fix, reported to every caller.
            // A certificate that fails (theirs, or ours refused) is a
            // verification failure; any other handshake failure means the
            // other side does not speak TLS the way a rediss:// server does.
            let verification = cause.message.contains("certificate")
            error = RedisError(
                verification ? .tlsVerificationFailed : .tlsMismatch,
                message: verification
                    ? "TLS with Redis at \(host):\(port) failed: \(cause.message)"
                    : "TLS with Redis at \(host):\(port) failed (\(cause.message)): does this port speak TLS? Use redis:// for a plaintext one")
        case .peerClosed:
            error = RedisError(.unreachable, message: "Redis closed the connection")
        case .failed(let cause):
            error = RedisError(.unreachable, message: "\(cause)")
        case .tlsFailed(let cause):
            error = RedisError(.protocolViolation, message: cause.message)
        case .handshakeTimedOut, .plaintextRefused:
            error = RedisError(.unreachable, message: "\(reason)")
        }
        lost(error)
    }

    /// The connection broke: tell the machine.
    private func lost(_ error: RedisError) {
        perform(io.machine.closed(error, now: MonotonicClock.now()))
    }

    // MARK: Writing

    /// Writes once per loop iteration, so commands submitted by every
    /// handler, job and task that ran in this iteration leave in one `send`.
    private func scheduleFlush() {
        let state = io
        guard !state.flushScheduled else { return }
        state.flushScheduled = true
        loop.flushAfterIteration(self)
    }

    /// The loop's end-of-iteration call that ``scheduleFlush()`` asked for.
    func flushAfterIteration() {
        io.flushScheduled = false
        flush()
    }

    /// Writes what the machine has queued while the socket takes it. The
    /// stream encrypts (with TLS) only what the socket takes, so what it has
    /// not taken stays in the machine: should the connection break, unsent
    /// commands are known to be unsent.
    ///
    /// The stream is lent unretained for the writes (a retain and a
    /// release, ~40 instructions a flush): `state.stream` holds it
    /// throughout, as nothing here lets go of it until the writes are over
    /// — `StreamSocket.write` never calls its delegate back (a failure
    /// closes the stream, which only drops its delegate), so no
    /// `streamClosed` can clear `state.stream` meanwhile.
    private func flush() {
        let state = io
        guard let stream = state.stream.map({ Unmanaged.passUnretained($0) }) else { return }
        let failure: StreamCloseReason? = stream._withUnsafeGuaranteedRef { stream in
            guard stream.isOpen else { return nil }
            while state.machine.hasUnwrittenBytes {
                var offered = 0
                let result = state.machine.withUnwrittenBytes { bytes in
                    offered = bytes.count
                    return stream.write(bytes)
                }
                switch result {
                case .success(let count):
                    state.machine.wrote(count)
                    // The rest goes when the stream says it is writable.
                    if count < offered { return nil }
                case .failure(let reason):
                    return reason
                }
            }
            return nil
        }
        guard let failure else { return }
        state.stream = nil
        lost(RedisError(.unreachable, message: "\(failure)"))
    }
}
