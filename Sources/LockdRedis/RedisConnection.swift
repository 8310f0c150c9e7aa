import Dispatch
import LockdTransport
import Logging
import RESP

/// One TCP connection to Redis, owned by one event loop: it carries out what
/// its ``RedisConnectionStateMachine`` decides.
///
/// Everything except `init` runs on the owning loop's thread. Replies are
/// decoded there from one large read per readiness event and each waiting
/// caller is resumed there; bytes from many callers go out together in one
/// write, scheduled once per loop iteration.
final class RedisConnection: EventHandler, @unchecked Sendable {
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
    private final class IOState {
        var machine: Machine
        var socket: Socket?
        var receive = ReceiveBuffer()
        /// Counts sockets opened, so a late name lookup for an abandoned attempt is ignored.
        var generation: UInt64 = 0
        var awaitingConnect = false
        var watchingWritable = false
        var flushScheduled = false
        var timer: (id: TimerID, deadline: UInt64)?
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
        /// The socket's TLS session (`rediss://`); nil for plain TCP.
        var tls: TLSClientSession?
        /// Whether the TLS handshake still runs; the machine still counts it as connecting.
        var tlsHandshaking = false
        /// Ciphertext read from the socket, on its way into `tls`.
        var ciphertextIn = ReceiveBuffer(capacity: 64 << 10)
        /// Ciphertext from `tls` not yet on the socket, and how much of it was written.
        var ciphertextOut: [UInt8] = []
        var ciphertextOutStart = 0

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
    func send(_ arguments: [RESPBulk], replies: Int = 1, id: UInt64, waiter: Waiter) {
        let state = io
        perform(state.machine.send(arguments, replies: replies, id: id, waiter: waiter, now: MonotonicClock.now()))
    }

    /// Sends `commands` back to back; `waiter` gets one `.array` of their replies.
    func sendPipeline(_ commands: [[RESPBulk]], id: UInt64, waiter: Waiter) {
        let state = io
        perform(state.machine.sendPipeline(commands, id: id, waiter: waiter, now: MonotonicClock.now()))
    }

    /// The caller of command `id` gave up waiting.
    func cancel(id: UInt64) {
        let state = io
        perform(state.machine.cancel(id: id, now: MonotonicClock.now()))
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

    private func perform(_ action: Machine.Action) {
        let state = io
        switch action {
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
            resume(waiter, .success(value))
        case .fail(let waiter, let error):
            resume(waiter, .failure(error))
        case .failAll(let failures):
            for (waiter, error) in failures { resume(waiter, .failure(error)) }
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
            if let timer = state.timer { loop.cancelTimer(timer.id) }
            state.timer = nil
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
            for (waiter, error) in failing { resume(waiter, .failure(error)) }
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
                if let timer = state.timer { loop.cancelTimer(timer.id) }
                if let timer = state.reconnectTimer { loop.cancelTimer(timer) }
                state.timer = nil
                state.reconnectTimer = nil
                return
            }
        }
        armTimer()
    }

    private func resume(_ waiter: Waiter, _ result: Result<RESPValue, RedisError>) {
        switch waiter {
        case .continuation(let continuation): continuation.resume(returning: result)
        case .callback(let body): body(result)
        }
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
        if state.timer != nil, state.machine.state == .ready { return }
        guard let deadline = state.machine.nextDeadline else { return }
        if let timer = state.timer {
            if timer.deadline <= deadline { return }
            loop.cancelTimer(timer.id)
        }
        let now = MonotonicClock.now()
        let delay = Duration.nanoseconds(Int64(clamping: deadline > now ? deadline - now : 0))
        let id = loop.scheduleTimer(after: delay) { [self] in
            io.timer = nil
            perform(io.machine.tick(now: MonotonicClock.now()))
        }
        state.timer = (id, deadline)
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
        do {
            let socket = try Socket.connect(to: address.get())
            state.socket = socket
            state.awaitingConnect = true
            try loop.register(fd: socket.fd, events: [.writable, .readHangup], handler: self)
        } catch {
            closeSocket()
            perform(state.machine.connectFailed(RedisError(.unreachable, message: "cannot connect to Redis at \(host):\(port): \(error)")))
        }
    }

    private func closeSocket() {
        let state = io
        guard let socket = state.socket else { return }
        loop.deregister(fd: socket.fd)
        socket.close()
        state.socket = nil
        state.awaitingConnect = false
        state.watchingWritable = false
        state.receive.reset()
        state.tls = nil
        state.tlsHandshaking = false
        state.ciphertextIn.reset()
        state.ciphertextOut.removeAll()
        state.ciphertextOutStart = 0
    }

    func handleEvents(_ events: EpollEvents) {
        let state = io
        guard let socket = state.socket else { return }
        if state.awaitingConnect {
            let code = socket.pendingError()
            let now = MonotonicClock.now()
            guard code == 0 else {
                closeSocket()
                let error = TransportError("connect", code: code)
                perform(state.machine.connectFailed(RedisError(.unreachable, message: "cannot connect to Redis at \(host):\(port): \(error)")))
                return
            }
            state.awaitingConnect = false
            do {
                try loop.modify(fd: socket.fd, events: [.readable, .readHangup])
            } catch {
                perform(state.machine.closed(RedisError(.unreachable, message: "\(error)"), now: now))
                return
            }
            if case .success(let context)? = tlsContext {
                startTLS(socket, context)
            } else {
                perform(state.machine.connected())
            }
            return
        }
        if !events.intersection([.readable, .error, .hangup, .readHangup]).isEmpty {
            if let session = state.tls {
                readTLS(socket, session)
            } else {
                readAndDecode(socket)
            }
        }
        if events.contains(.writable), state.socket == socket {
            flush()
        }
    }

    private func readAndDecode(_ socket: Socket) {
        let state = io
        if arrived(Self.read(socket, into: &state.receive)) { decodeReplies(socket) }
    }

    /// One read from the socket into `buffer`.
    private static func read(_ socket: Socket, into buffer: inout ReceiveBuffer) -> Socket.ReadResult {
        var outcome = Socket.ReadResult.wouldBlock
        _ = buffer.fill(minimum: 16 << 10) { pointer, count in
            outcome = socket.read(into: pointer, count: count)
            if case .bytes(let read) = outcome { return read }
            return 0
        }
        return outcome
    }

    /// Whether a read brought bytes; an end of file or a failure closes the
    /// connection (which empties the buffers, so never while one is being filled).
    private func arrived(_ outcome: Socket.ReadResult) -> Bool {
        switch outcome {
        case .bytes:
            return true
        case .wouldBlock:
            return false
        case .endOfFile:
            lost(RedisError(.unreachable, message: "Redis closed the connection"))
        case .failed(let code):
            lost(RedisError(.unreachable, message: "\(TransportError("read", code: code))"))
        }
        return false
    }

    /// One write to the socket: the count written, or nil when the socket is
    /// full (writability is then watched) or broken (the connection closes).
    private func write(_ socket: Socket, _ bytes: (Socket) -> Socket.WriteResult) -> Int? {
        switch bytes(socket) {
        case .bytes(let count):
            return count
        case .wouldBlock:
            watchWritable(true, socket)
        case .failed(let code):
            lost(RedisError(.unreachable, message: "\(TransportError("send", code: code))"))
        }
        return nil
    }

    /// The connection broke: tell the machine.
    private func lost(_ error: RedisError) {
        perform(io.machine.closed(error, now: MonotonicClock.now()))
    }

    private func decodeReplies(_ socket: Socket) {
        let state = io
        let decoder = self.decoder
        while state.socket == socket {
            let decoded: (value: RESPValue, consumed: Int)?
            do {
                decoded = try state.receive.withUnreadBytes { bytes in
                    try decoder.decode(bytes)
                }
            } catch {
                perform(state.machine.closed(RedisError(.protocolViolation, message: "\(error)"), now: MonotonicClock.now()))
                return
            }
            guard let decoded else {
                if state.receive.unreadCount > maxUnreadBytes {
                    perform(state.machine.closed(RedisError(.protocolViolation, message: "a reply exceeds \(maxUnreadBytes) bytes"), now: MonotonicClock.now()))
                }
                return
            }
            state.receive.consume(decoded.consumed)
            perform(state.machine.received(decoded.value, now: MonotonicClock.now()))
        }
    }

    // MARK: TLS

    /// The TCP connection is up: run the TLS handshake before Redis's own.
    private func startTLS(_ socket: Socket, _ context: TLSClientContext) {
        let state = io
        do {
            state.tls = try TLSClientSession(context: context, serverName: host)
        } catch {
            closeSocket()
            perform(state.machine.connectFailed(RedisError(.unreachable, message: "cannot start TLS with Redis at \(host):\(port): \(error)")))
            return
        }
        state.tlsHandshaking = true
        continueTLSHandshake(socket)
    }

    private func continueTLSHandshake(_ socket: Socket) {
        let state = io
        guard let session = state.tls else { return }
        let progress = session.handshake()
        flushTLS(socket, session)
        guard state.socket == socket else { return }
        switch progress {
        case .needsInput:
            break
        case .done:
            state.tlsHandshaking = false
            perform(state.machine.connected())
        case .failed(let error):
            closeSocket()
            // Like a wrong password: a setting to fix, reported to every caller.
            // A certificate that fails (theirs, or ours refused) is a
            // verification failure; any other handshake failure means the
            // other side does not speak TLS the way a rediss:// server does.
            let verification = error.message.contains("certificate")
            perform(state.machine.connectFailed(RedisError(
                verification ? .tlsVerificationFailed : .tlsMismatch,
                message: verification
                    ? "TLS with Redis at \(host):\(port) failed: \(error.message)"
                    : "TLS with Redis at \(host):\(port) failed (\(error.message)): does this port speak TLS? Use redis:// for a plaintext one")))
        }
    }

    /// Feeds one read of ciphertext to the session, then decodes what it decrypts.
    private func readTLS(_ socket: Socket, _ session: TLSClientSession) {
        let state = io
        guard arrived(Self.read(socket, into: &state.ciphertextIn)) else { return }
        state.ciphertextIn.withUnreadBytes { session.receive($0) }
        state.ciphertextIn.consume(state.ciphertextIn.unreadCount)
        if state.tlsHandshaking {
            continueTLSHandshake(socket)
            guard !state.tlsHandshaking, state.socket == socket else { return }
        }
        // Every whole record received so far: one socket read may carry several.
        var ended: RedisError?
        decrypting: while true {
            var result = TLSClientSession.ReadResult.needsInput
            _ = state.receive.fill(minimum: 16 << 10) { pointer, count in
                result = session.read(into: pointer, count: count)
                if case .bytes(let read) = result { return read }
                return 0
            }
            switch result {
            case .bytes: continue
            case .needsInput: break decrypting
            case .closed: ended = RedisError(.unreachable, message: "Redis ended the TLS session")
            case .failed(let error): ended = RedisError(.protocolViolation, message: error.message)
            }
            break
        }
        // Replies that arrived before a close still go to their callers.
        decodeReplies(socket)
        guard state.socket == socket else { return }
        if let ended {
            lost(ended)
        } else if session.hasOutput {
            flushTLS(socket, session)
        }
    }

    /// Writes pending ciphertext, then encrypts and writes queued commands
    /// while the socket takes them. Commands are encrypted only once the
    /// earlier ciphertext is on the wire, so what the socket has not taken
    /// stays in the machine: a backlog cannot grow here, and should the
    /// connection break, unsent commands are known to be unsent.
    private func flushTLS(_ socket: Socket, _ session: TLSClientSession) {
        let state = io
        while true {
            session.takeOutput(into: &state.ciphertextOut)
            while state.ciphertextOutStart < state.ciphertextOut.count {
                let start = state.ciphertextOutStart
                guard let count = write(socket, { socket in
                    state.ciphertextOut.withUnsafeBytes { socket.write(UnsafeRawBufferPointer(rebasing: $0[start...])) }
                }) else { return }
                state.ciphertextOutStart += count
            }
            state.ciphertextOut.removeAll(keepingCapacity: true)
            state.ciphertextOutStart = 0
            guard !state.tlsHandshaking, state.machine.hasUnwrittenBytes else { break }
            // At most a few records at a time, so the socket sets the pace.
            let taken = state.machine.withUnwrittenBytes { bytes in
                session.write(UnsafeRawBufferPointer(rebasing: bytes.prefix(64 << 10)))
            }
            switch taken {
            case .success(let count):
                state.machine.wrote(count)
            case .failure(let error):
                lost(RedisError(.protocolViolation, message: error.message))
                return
            }
        }
        watchWritable(false, socket)
    }

    // MARK: Writing

    /// Writes once per loop iteration, so commands submitted by every task
    /// that ran in this iteration leave in one `send`.
    private func scheduleFlush() {
        let state = io
        guard !state.flushScheduled else { return }
        state.flushScheduled = true
        loop.execute { [self] in
            io.flushScheduled = false
            flush()
        }
    }

    private func flush() {
        let state = io
        guard let socket = state.socket, !state.awaitingConnect else { return }
        if let session = state.tls {
            flushTLS(socket, session)
            return
        }
        while state.machine.hasUnwrittenBytes {
            guard let count = write(socket, { socket in state.machine.withUnwrittenBytes { socket.write($0) } }) else { return }
            state.machine.wrote(count)
        }
        watchWritable(false, socket)
    }

    private func watchWritable(_ watch: Bool, _ socket: Socket) {
        let state = io
        guard state.watchingWritable != watch else { return }
        state.watchingWritable = watch
        try? loop.modify(fd: socket.fd, events: watch ? [.readable, .writable, .readHangup] : [.readable, .readHangup])
    }
}
