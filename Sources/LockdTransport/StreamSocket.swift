import CLockdSystem
import LockdTLS

/// A non-blocking stream socket owned by one event loop, with everything a
/// connection needs around it: the input buffer, the output queue with
/// partial writes, read and write interest, one re-arming deadline, and an
/// optional TLS layer (client or server) between the wire and the owner.
///
/// The owner — an HTTP connection, a Redis connection, a load generator's
/// client — sees plaintext only: input through its ``StreamSocketDelegate``,
/// output through ``queueOutput(_:)`` and ``flush()`` (or ``write(_:)`` when
/// it keeps its own queue). One `read` per readiness event goes into the
/// loop's shared buffer and is offered to the owner in place; only what the
/// owner leaves unconsumed is copied into the stream's own buffer. With TLS,
/// the decrypted records of one read are offered together, and records that
/// OpenSSL holds while the owner is not reading — which epoll will never
/// report again — are offered when the owner calls ``resumeInput()``.
///
/// ```swift
/// let stream = StreamSocket(accepted: client, on: loop, tls: serverContext,
///                           options: .init(maxBufferedInput: 64 << 10, handshakeTimeout: .seconds(10)))
/// try stream.start(delegate: connection)   // streamOpened follows the handshake
/// stream.queueOutput { $0 += response }
/// _ = stream.flush()                        // one send for everything queued
/// ```
public final class StreamSocket: EventHandler, @unchecked Sendable {
    // Safe to share: `loop`, `socket`, `options` and `isServer` never change;
    // every other property is read and written only on `loop`'s thread. The
    // loop calls `handleEvents` and the deadline's timer there; every public
    // method is documented "loop thread only" and checks it in debug builds
    // (`assertInLoop`). This is the one audited place where a connection's
    // I/O state lives; its owners keep their own state confined the same way.

    /// How a stream speaks TLS.
    public enum TLS: Sendable {
        /// As a client verifying `serverName` (or the context's name).
        case client(TLSClientContext, serverName: String)
        /// As a server presenting the context's certificate.
        case server(TLSServerContext)
    }

    /// Limits a stream holds its peer to.
    public struct Options: Sendable {
        /// Reading pauses while this many received bytes wait unconsumed
        /// (a hang-up is still noticed, and closes the stream).
        public var maxBufferedInput: Int
        /// How long the TLS handshake may take before the stream closes by
        /// itself; nil when the owner times the connection as a whole.
        public var handshakeTimeout: Duration?

        /// Options with no input limit and no handshake timeout.
        public init(maxBufferedInput: Int = .max, handshakeTimeout: Duration? = nil) {
            self.maxBufferedInput = maxBufferedInput
            self.handshakeTimeout = handshakeTimeout
        }
    }

    @usableFromInline enum Phase {
        case connecting
        case handshaking
        case open
        /// A TLS server's peer spoke plaintext: it was answered, and what it
        /// still sends is dropped until it closes.
        case refusing(discarded: Int)
        case closed
    }

    /// The loop whose thread owns the stream.
    public let loop: EventLoop
    /// The descriptor (closed once the stream is).
    public let socket: Socket
    let options: Options
    let isServer: Bool
    // The fields below that every read or send touches are read and set on
    // the loop thread only, never passed `inout`, and no access spans a call:
    // the runtime's exclusivity checks cost ~100 instructions each, several
    // a request (`@exclusivity(unchecked)`).
    /// The owner, held in an object of its own (see ``StreamDelegateHolder``).
    @exclusivity(unchecked) private var delegateHolder: StreamDelegateHolder?
    /// The same holder, unretained: the read calls the delegate through it.
    /// It lives while `delegateHolder` holds it, and, once dropped during a
    /// delivery, until the loop's iteration ends (the setter of `delegate`).
    @exclusivity(unchecked) var lentDelegate: Unmanaged<StreamDelegateHolder>?
    /// The owner (retained as it is read: the paths other than the read's).
    var delegate: (any StreamSocketDelegate)? {
        get { delegateHolder?.delegate }
        set {
            // Dropped during a delivery (the delegate closed its stream
            // while it read), the holder may still be in use up the stack,
            // unretained: the loop holds it until the iteration ends.
            if delivering, let dropped = delegateHolder { loop.retire(dropped) }
            let holder = newValue.map(StreamDelegateHolder.init)
            lentDelegate = holder.map { Unmanaged.passUnretained($0) }
            delegateHolder = holder
        }
    }
    @usableFromInline @exclusivity(unchecked) var phase: Phase
    /// TLS still to be started (a client's, once connected).
    var pendingTLS: TLS?
    /// The TLS session, once started.
    @exclusivity(unchecked) public internal(set) var tls: TLSSession?

    // The queues and the deadline are touched by the stream's own methods
    // only, on the loop thread, and no access to them spans a call that could
    // reach them again (`queueOutput`'s closure only appends, by contract):
    // the runtime's exclusivity checks would cost a lookup on every request.
    let input = InputBuffer()
    // (`output`, `ciphertext` and `ciphertextSent` are read by
    // ``queuedOutputCount``, which other modules inline.)
    /// Plaintext queued by ``queueOutput(_:)`` and ``queueOutput(atMost:_:)``.
    @usableFromInline @exclusivity(unchecked) var output = OutputQueue()
    /// Ciphertext made by the TLS session, sent from `ciphertextSent` on.
    @usableFromInline @exclusivity(unchecked) var ciphertext: [UInt8] = []
    @usableFromInline @exclusivity(unchecked) var ciphertextSent = 0
    /// TLS could not take output until the peer sends something.
    @exclusivity(unchecked) var writeAwaitsInput = false
    /// ``shutdownOutput()`` was called: nothing more is sent, input is dropped raw.
    @exclusivity(unchecked) var outputShut = false
    /// The write side is to be shut once the queued ciphertext (close_notify) is out.
    var shutdownAfterFlush = false
    /// True while the delegate is being offered input, so it is never offered twice at once.
    @exclusivity(unchecked) var delivering = false
    /// Whether the peer of a TLS server stream has sent its first byte (which
    /// tells a plaintext client apart).
    var peerSpoke = false

    /// The owner's ``write(_:)`` was not taken whole: it waits for ``StreamSocketDelegate/streamWritable(_:)``.
    @exclusivity(unchecked) var ownerBlocked = false
    /// The last send of queued bytes found the socket full. Output that is
    /// merely queued is sent by the owner's ``flush()``, so only this asks
    /// epoll for writability: watching it for every queued response cost two
    /// `epoll_ctl` calls per request.
    @exclusivity(unchecked) var sendBlocked = false

    @exclusivity(unchecked) var interest: EpollEvents = []
    @exclusivity(unchecked) var registered = false
    @usableFromInline @exclusivity(unchecked) var deadline = LoopDeadline()

    private init(socket: Socket, loop: EventLoop, tls: TLS?, isServer: Bool, options: Options) {
        self.socket = socket
        self.loop = loop
        self.options = options
        self.isServer = isServer
        self.pendingTLS = tls
        self.phase = isServer ? .handshaking : .connecting
    }

    /// Wraps an accepted connection; nothing happens until ``start(delegate:)``.
    /// - Parameter tls: the server context when the stream speaks TLS.
    public convenience init(accepted socket: Socket, on loop: EventLoop, tls: TLSServerContext?, options: Options = Options()) {
        self.init(socket: socket, loop: loop, tls: tls.map(TLS.server), isServer: true, options: options)
    }

    /// Starts connecting to `address` (loop thread only). The delegate hears
    /// ``StreamSocketDelegate/streamOpened(_:)`` once connected and past the
    /// TLS handshake, or ``StreamSocketDelegate/streamClosed(_:_:)`` with why not.
    /// - Throws: ``TransportError`` when the attempt fails at once.
    public static func connect(
        to address: SocketAddress, on loop: EventLoop, tls: TLS? = nil, options: Options = Options(),
        delegate: any StreamSocketDelegate
    ) throws -> StreamSocket {
        let socket = try Socket.connect(to: address)
        let stream = StreamSocket(socket: socket, loop: loop, tls: tls, isServer: false, options: options)
        stream.delegate = delegate
        do {
            try stream.setInterest([.writable, .readHangup], registering: true)
        } catch {
            socket.close()
            stream.phase = .closed
            throw error
        }
        return stream
    }

    /// Registers an accepted stream with its loop and starts it (loop thread
    /// only): a plaintext stream opens at once, calling
    /// ``StreamSocketDelegate/streamOpened(_:)`` before this returns; a TLS
    /// stream waits for the client's hello, within the handshake timeout.
    /// - Throws: ``TransportError`` when the loop refuses the descriptor (the
    ///   socket is then closed).
    public func start(delegate: any StreamSocketDelegate) throws {
        assertInLoop()
        self.delegate = delegate
        do {
            try setInterest([.readable, .readHangup], registering: true)
        } catch {
            phase = .closed
            self.delegate = nil
            socket.close()
            throw error
        }
        connected()
    }

    // MARK: State

    /// Whether the stream is open for data (connected, past any handshake, not closed).
    public var isOpen: Bool {
        if case .open = phase { return true }
        return false
    }

    /// Whether the stream is closed.
    @inlinable public var isClosed: Bool {
        if case .closed = phase { return true }
        return false
    }

    @usableFromInline func assertInLoop() {
        assert(loop.inEventLoop, "StreamSocket used off its event loop")
    }

    // MARK: Events

    public func handleEvents(_ events: EpollEvents) {
        // The usual event — an open plaintext stream that reads, told its
        // socket has bytes — goes straight to the read: what the general
        // path below does for it, without its frame (it saves every
        // register, and the read it calls went through two more frames:
        // ~40 instructions an event, two events a Redis lock request).
        if tls == nil, !outputShut, isOpen, !events.contains(.writable), interest.contains(.readable),
           !events.isDisjoint(with: [.readable, .readHangup, .error, .hangup]) {
            return readPlaintext()
        }
        handleEventsInGeneral(events)
    }

    @inline(never)
    private func handleEventsInGeneral(_ events: EpollEvents) {
        switch phase {
        case .closed:
            return
        case .connecting:
            let code = socket.pendingError()
            guard code == 0 else {
                return closeByItself(.connectFailed(TransportError("connect", code: code)))
            }
            do {
                try setInterest([.readable, .readHangup])
            } catch {
                return closeByItself(.failed(error as? TransportError ?? TransportError("epoll_ctl", code: 0)))
            }
            connected()
        case .handshaking, .open, .refusing:
            if events.contains(.writable) { writableEvent() }
            guard !isClosed else { return }
            if interest.contains(.readable) {
                if !events.isDisjoint(with: [.readable, .readHangup, .error, .hangup]) { readEvent() }
            } else if !events.isDisjoint(with: [.readHangup, .error, .hangup]) {
                // Reading is paused, so this can only mean the peer is gone.
                closeByItself(.peerClosed)
            }
        }
    }

    /// TCP is up: start TLS, or open.
    private func connected() {
        guard let pending = pendingTLS else {
            phase = .open
            delegate?.streamOpened(self)
            return
        }
        pendingTLS = nil
        do {
            switch pending {
            case .client(let context, let serverName): tls = try TLSSession(client: context, serverName: serverName)
            case .server(let context): tls = try TLSSession(server: context)
            }
        } catch {
            return closeByItself(.handshakeFailed(error))
        }
        phase = .handshaking
        if let timeout = options.handshakeTimeout {
            setDeadline(MonotonicClock.now() &+ MonotonicClock.nanoseconds(timeout))
        }
        // A client speaks first; a server waits for the hello.
        if !isServer { continueHandshake() }
    }

    /// Advances the TLS handshake with what has arrived; opens the stream when it is done.
    func continueHandshake() {
        guard let tls else { return }
        let progress = tls.handshake()
        // The next flight, or the alert that explains a failure.
        if case .failure(let reason) = sendCiphertext(from: tls) { return closeByItself(reason) }
        switch progress {
        case .needsInput:
            return
        case .failed(let error):
            closeByItself(.handshakeFailed(error))
        case .done:
            phase = .open
            setDeadline(.max)
            delegate?.streamOpened(self)
            // The peer's first data often rides with its last handshake
            // flight: it sits decrypted-to-be inside OpenSSL, unannounced.
            if isOpen, tls.hasBufferedInput { decryptAndDeliver(tls) }
        }
    }

    // MARK: Deadline

    /// Sets the one deadline (`MonotonicClock` nanoseconds; `.max` for none),
    /// after which ``StreamSocketDelegate/streamDeadlinePassed(_:)`` is called.
    /// Moving it later costs a store (loop thread only).
    // Inlinable, the arming out of line: an HTTP connection sets its
    // deadline once or twice a request, nearly always to a store (a call
    // of another module's cost ~20 instructions).
    @inlinable
    public func setDeadline(_ instant: UInt64) {
        assertInLoop()
        guard !isClosed else { return }
        if deadline.set(instant) { armDeadline() }
    }

    /// Arms the deadline's timer (see ``LoopDeadline/set(_:)``).
    @usableFromInline
    func armDeadline() {
        deadline.arm(on: loop) { [self] in deadlineTimerFired() }
    }

    private func deadlineTimerFired() {
        guard !isClosed else { return }
        guard deadline.expired(now: MonotonicClock.now()) else {
            if deadline.needsArming { deadline.arm(on: loop) { [self] in deadlineTimerFired() } }
            return
        }
        switch phase {
        case .handshaking: closeByItself(.handshakeTimedOut)
        case .refusing: closeByItself(.plaintextRefused)
        case .connecting, .open: delegate?.streamDeadlinePassed(self)
        case .closed: return
        }
    }

    // MARK: Closing

    /// Closes the stream at once (loop thread only): deregisters and closes
    /// the descriptor, drops buffered input and unsent output. The delegate
    /// is not called; calling it again does nothing.
    public func close() {
        assertInLoop()
        guard !isClosed else { return }
        phase = .closed
        deadline.cancel(on: loop)
        if registered { loop.deregister(fd: socket.fd) }
        registered = false
        socket.close()
        input.reset()
        output.removeAll()
        ciphertext = []
        ciphertextSent = 0
        tls = nil
        delegate = nil
    }

    /// Closes and tells the delegate why.
    func closeByItself(_ reason: StreamCloseReason) {
        guard !isClosed else { return }
        let delegate = self.delegate
        close()
        delegate?.streamClosed(self, reason)
    }

    // MARK: Interest

    /// Watches `wanted` (registering the descriptor the first time).
    func setInterest(_ wanted: EpollEvents, registering: Bool = false) throws {
        if registering {
            try loop.register(fd: socket.fd, events: wanted, handler: self)
            registered = true
        } else {
            guard wanted != interest else { return }
            try loop.modify(fd: socket.fd, events: wanted)
        }
        interest = wanted
    }

    /// Watches what the state calls for: reading unless too much input waits
    /// (or while connecting), writing while output waits for a full socket.
    ///
    /// Called after every read and every send (four times a Redis lock
    /// request, once a `/healthz`), and almost always to find the interest
    /// unchanged: the check is kept to loads and compares — the blocked
    /// flags before the unsent bytes they gate, the `epoll_ctl` out of line,
    /// so that the check saves no registers (~46 instructions a call with
    /// the change inline). Kept out of line (swiftc inlined it into its three
    /// callers once `isClosed` became inlinable, and they grew by more than
    /// the calls cost: +20 instructions a Redis lock request).
    @inline(never)
    func updateInterest() {
        guard registered, !isClosed else { return }
        var wanted: EpollEvents = [.readHangup]
        if case .connecting = phase {
            wanted.insert(.writable)
        } else {
            if outputShut || input.count < options.maxBufferedInput { wanted.insert(.readable) }
            if sendBlocked || ownerBlocked, hasUnsentBytes { wanted.insert(.writable) }
        }
        guard wanted != interest else { return }
        changeInterest(to: wanted)
    }

    @inline(never)
    private func changeInterest(to wanted: EpollEvents) {
        try? setInterest(wanted)
    }
}
