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
final class RedisConnection: EventHandler, Sendable {
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
    private let io: LoopBound<IOState>

    private struct IOState {
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
        var onReady: (() -> Void)?
        var onMessage: ((RedisPubSubMessage, RedisSubscriptionKind) -> Void)?
    }

    init(configuration: RedisConfiguration, loop: EventLoop, isSubscriber: Bool, seed: UInt64, logger: Logger) {
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
        self.io = LoopBound(IOState(machine: Machine(settings: settings, backoff: backoff)), on: loop)
    }

    // MARK: Used by the client (loop thread only)

    /// Starts connecting now rather than at the first command.
    func start() {
        perform(io.value.machine.start(now: MonotonicClock.now()))
    }

    /// Sends a command expecting `replies` frames; `waiter` is resumed on this loop.
    func send(_ arguments: [RESPBulk], replies: Int = 1, id: UInt64, waiter: Waiter) {
        perform(io.value.machine.send(arguments, replies: replies, id: id, waiter: waiter, now: MonotonicClock.now()))
    }

    /// The caller of command `id` gave up waiting.
    func cancel(id: UInt64) {
        perform(io.value.machine.cancel(id: id, now: MonotonicClock.now()))
    }

    /// Closes for good; waiting commands fail with `shutDown`.
    func shutdown() {
        perform(io.value.machine.shutdown())
    }

    /// Commands waiting on this connection.
    var load: Int { io.value.machine.load }

    /// Whether a command sent now would be written or held rather than failed.
    var acceptsCommands: Bool { io.value.machine.acceptsCommands }

    /// Installs pub/sub hooks: `onReady` after every successful handshake,
    /// `onMessage` for each published message.
    func setHandlers(onReady: @escaping () -> Void, onMessage: @escaping (RedisPubSubMessage, RedisSubscriptionKind) -> Void) {
        io.value.onReady = onReady
        io.value.onMessage = onMessage
    }

    // MARK: Actions

    private func perform(_ action: Machine.Action) {
        switch action {
        case .none:
            break
        case .connect:
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
            io.value.onMessage?(message, kind)
        case .becameReady:
            if io.value.reportedDown {
                logger.info("Redis connection ready again", metadata: ["redis.endpoint": "\(host):\(port)"])
            }
            io.value.reportedDown = false
            io.value.onReady?()
            scheduleFlush()
        case .disconnect(let reason, let failing, let next):
            closeSocket()
            report(reason, next: next)
            for (waiter, error) in failing { resume(waiter, .failure(error)) }
            switch next {
            case .reconnectNow:
                openSocket()
            case .reconnect(let delay):
                io.value.reconnectTimer = loop.scheduleTimer(after: delay) { [self] in
                    io.value.reconnectTimer = nil
                    perform(io.value.machine.reconnectDue(now: MonotonicClock.now()))
                }
            case .stop:
                if let timer = io.value.timer { loop.cancelTimer(timer.id) }
                if let timer = io.value.reconnectTimer { loop.cancelTimer(timer) }
                io.value.timer = nil
                io.value.reconnectTimer = nil
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

    private func report(_ reason: RedisError, next: Machine.Next) {
        let metadata: Logger.Metadata = ["redis.endpoint": "\(host):\(port)", "redis.error": "\(reason.message)"]
        if next == .stop || reason.kind == .cancelled || reason.kind == .timeout {
            logger.debug("Redis connection closed", metadata: metadata)
        } else if io.value.reportedDown {
            logger.debug("Redis still unavailable", metadata: metadata)
        } else {
            logger.warning("Redis connection lost; reconnecting", metadata: metadata)
            io.value.reportedDown = true
        }
    }

    // MARK: Timers

    /// Keeps one timer armed for the machine's earliest deadline. Deadlines
    /// only grow as commands queue, so a timer firing early just re-arms.
    private func armTimer() {
        guard let deadline = io.value.machine.nextDeadline else { return }
        if let timer = io.value.timer {
            if timer.deadline <= deadline { return }
            loop.cancelTimer(timer.id)
        }
        let now = MonotonicClock.now()
        let delay = Duration.nanoseconds(Int64(clamping: deadline > now ? deadline - now : 0))
        let id = loop.scheduleTimer(after: delay) { [self] in
            io.value.timer = nil
            perform(io.value.machine.tick(now: MonotonicClock.now()))
        }
        io.value.timer = (id, deadline)
    }

    // MARK: Socket

    private func openSocket() {
        io.value.generation &+= 1
        let generation = io.value.generation
        let (host, port) = (self.host, self.port)
        // Name lookup can block for seconds: never on the loop's thread.
        DispatchQueue.global().async { [self] in
            let address = Result { try SocketAddress.resolve(host: host, port: port) }
            loop.execute { [self] in connect(to: address, generation: generation) }
        }
    }

    private func connect(to address: Result<SocketAddress, any Error>, generation: UInt64) {
        guard io.value.generation == generation, io.value.machine.state == .connecting else { return }
        let now = MonotonicClock.now()
        do {
            let socket = try Socket.connect(to: address.get())
            io.value.socket = socket
            io.value.awaitingConnect = true
            try loop.register(fd: socket.fd, events: [.writable, .readHangup], handler: self)
        } catch {
            closeSocket()
            perform(io.value.machine.connectFailed(RedisError(.unreachable, message: "cannot connect to Redis at \(host):\(port): \(error)"), now: now))
        }
    }

    private func closeSocket() {
        guard let socket = io.value.socket else { return }
        loop.deregister(fd: socket.fd)
        socket.close()
        io.value.socket = nil
        io.value.awaitingConnect = false
        io.value.watchingWritable = false
        io.value.receive.reset()
    }

    func handleEvents(_ events: EpollEvents) {
        guard let socket = io.value.socket else { return }
        if io.value.awaitingConnect {
            let code = socket.pendingError()
            let now = MonotonicClock.now()
            guard code == 0 else {
                closeSocket()
                let error = TransportError("connect", code: code)
                perform(io.value.machine.connectFailed(RedisError(.unreachable, message: "cannot connect to Redis at \(host):\(port): \(error)"), now: now))
                return
            }
            io.value.awaitingConnect = false
            do {
                try loop.modify(fd: socket.fd, events: [.readable, .readHangup])
            } catch {
                perform(io.value.machine.closed(RedisError(.unreachable, message: "\(error)"), now: now))
                return
            }
            perform(io.value.machine.connected(now: now))
            return
        }
        if !events.intersection([.readable, .error, .hangup, .readHangup]).isEmpty {
            readAndDecode(socket)
        }
        if events.contains(.writable), io.value.socket == socket {
            flush()
        }
    }

    private func readAndDecode(_ socket: Socket) {
        var outcome = Socket.ReadResult.wouldBlock
        _ = io.value.receive.fill(minimum: 16 << 10) { pointer, count in
            outcome = socket.read(into: pointer, count: count)
            if case .bytes(let read) = outcome { return read }
            return 0
        }
        switch outcome {
        case .bytes:
            decodeReplies(socket)
        case .wouldBlock:
            return
        case .endOfFile:
            perform(io.value.machine.closed(RedisError(.unreachable, message: "Redis closed the connection"), now: MonotonicClock.now()))
        case .failed(let code):
            perform(io.value.machine.closed(RedisError(.unreachable, message: "\(TransportError("read", code: code))"), now: MonotonicClock.now()))
        }
    }

    private func decodeReplies(_ socket: Socket) {
        let decoder = self.decoder
        while io.value.socket == socket {
            let decoded: (value: RESPValue, consumed: Int)?
            do {
                decoded = try io.value.receive.withUnreadBytes { bytes in
                    try decoder.decode(bytes)
                }
            } catch {
                perform(io.value.machine.closed(RedisError(.protocolViolation, message: "\(error)"), now: MonotonicClock.now()))
                return
            }
            guard let decoded else {
                if io.value.receive.unreadCount > maxUnreadBytes {
                    perform(io.value.machine.closed(RedisError(.protocolViolation, message: "a reply exceeds \(maxUnreadBytes) bytes"), now: MonotonicClock.now()))
                }
                return
            }
            io.value.receive.consume(decoded.consumed)
            perform(io.value.machine.received(decoded.value))
        }
    }

    /// Writes once per loop iteration, so commands submitted by every task
    /// that ran in this iteration leave in one `send`.
    private func scheduleFlush() {
        guard !io.value.flushScheduled else { return }
        io.value.flushScheduled = true
        loop.execute { [self] in
            io.value.flushScheduled = false
            flush()
        }
    }

    private func flush() {
        guard let socket = io.value.socket, !io.value.awaitingConnect else { return }
        while io.value.machine.hasUnwrittenBytes {
            switch io.value.machine.withUnwrittenBytes({ socket.write($0) }) {
            case .bytes(let count):
                io.value.machine.wrote(count)
            case .wouldBlock:
                watchWritable(true, socket)
                return
            case .failed(let code):
                perform(io.value.machine.closed(RedisError(.unreachable, message: "\(TransportError("send", code: code))"), now: MonotonicClock.now()))
                return
            }
        }
        watchWritable(false, socket)
    }

    private func watchWritable(_ watch: Bool, _ socket: Socket) {
        guard io.value.watchingWritable != watch else { return }
        io.value.watchingWritable = watch
        try? loop.modify(fd: socket.fd, events: watch ? [.readable, .writable, .readHangup] : [.readable, .readHangup])
    }
}
