import LockdTransport
import Synchronization

/// Why one exchange on a connection failed, before it is told to the SDK as a ``TransportFailure``.
enum ConnectionFailure: Error {
    /// The connection could not be made (refused, unreachable).
    case connect(String)
    /// The TLS handshake failed: the server's certificate is not trusted, say.
    case handshake(String)
    /// The connection broke; `answered` when part of a response had arrived.
    case lost(String, answered: Bool)
    /// The server's answer was not an HTTP/1.1 response the SDK can read.
    case malformed(String)
    /// The exchange's deadline passed first.
    case timedOut
}

/// One keep-alive HTTP/1.1 connection (plaintext or TLS) that carries one
/// exchange at a time; the pool hands it out and takes it back.
final class PooledConnection: StreamSocketDelegate, @unchecked Sendable {
    // Safe to share: every mutable field below except `usable` is touched
    // only on `loop`'s thread — `exchange` and its cancellation handler reach
    // them through `loop.execute`, and the stream calls its delegate there.
    // `usable` is atomic: the pool reads it from any thread.

    private let loop: EventLoop
    private let address: SocketAddress
    private let tls: StreamSocket.TLS?
    private var stream: StreamSocket?
    private var isOpen = false
    /// The exchange under way (or the last one), numbered from `exchanges`.
    private var current = 0
    /// An exchange cancelled before it began on the loop.
    private var cancelledEarly = 0
    private var received: [UInt8] = []
    private var pending: UnsafeContinuation<RawResponse, any Error>?
    /// Ends the exchange under way at its deadline.
    private var deadlineTimer: TimerID?
    /// False once the connection closed, was cancelled or the server said `Connection: close`.
    private let usable = Atomic<Bool>(true)
    /// Numbers exchanges, so that a late cancellation of one never ends the next.
    private let exchanges = Atomic<Int>(0)

    /// A connection to `address`, opened by the first exchange.
    init(loop: EventLoop, address: SocketAddress, tls: StreamSocket.TLS?) {
        self.loop = loop
        self.address = address
        self.tls = tls
    }

    /// Whether the connection may carry another exchange.
    var isUsable: Bool { usable.load(ordering: .acquiring) }

    /// Sends `request` and waits for the whole response. Cancelling the task,
    /// or reaching `deadline`, closes the connection (which is how lockd learns
    /// a waiter gave up); unless not `cancellable`: then only the deadline ends it.
    /// - Throws: ``ConnectionFailure``, or `CancellationError`.
    nonisolated(nonsending) func exchange(_ request: [UInt8], deadline: ContinuousClock.Instant?, cancellable: Bool = true) async throws -> RawResponse {
        let number = exchanges.add(1, ordering: .relaxed).newValue
        // Unsafe (no checking box allocated per exchange): `pending` holds the
        // continuation until `finish` resumes it, once, and clears it.
        guard cancellable else {
            return try await withUnsafeThrowingContinuation { start(number, request, deadline, $0) }
        }
        return try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { start(number, request, deadline, $0) }
        } onCancel: {
            loop.execute { self.cancel(number) }
        }
    }

    /// Closes the connection (an idle one the pool drops).
    func close() {
        usable.store(false, ordering: .releasing)
        loop.execute { self.finish(.failure(CancellationError())) }
    }

    /// Begins the exchange on the loop's thread: at once if this is it (a task on
    /// the loop: a renewal, a generated call), else as the loop's next job.
    private func start(
        _ number: Int,
        _ request: [UInt8],
        _ deadline: ContinuousClock.Instant?,
        _ continuation: UnsafeContinuation<RawResponse, any Error>
    ) {
        if loop.inEventLoop {
            begin(number, request, deadline, continuation)
        } else {
            loop.execute { self.begin(number, request, deadline, continuation) }
        }
    }

    // MARK: Loop thread

    private func begin(
        _ number: Int,
        _ request: [UInt8],
        _ deadline: ContinuousClock.Instant?,
        _ continuation: UnsafeContinuation<RawResponse, any Error>
    ) {
        current = number
        guard cancelledEarly != number else {
            pending = continuation
            return finish(.failure(CancellationError()))
        }
        guard isUsable else { return continuation.resume(throwing: ConnectionFailure.lost("the connection had closed", answered: false)) }
        pending = continuation
        received.removeAll(keepingCapacity: true)
        if let deadline {
            let left = deadline - .now
            guard left > .zero else { return finish(.failure(ConnectionFailure.timedOut)) }
            deadlineTimer = loop.scheduleTimer(after: left) { self.expire(number) }
        }
        if stream == nil {
            do {
                stream = try StreamSocket.connect(to: address, on: loop, tls: tls, delegate: self)
            } catch {
                return finish(.failure(ConnectionFailure.connect("\(error)")))
            }
        }
        stream?.queueOutput { $0 += request }
        if isOpen { flush() }
    }

    private func flush() {
        guard let stream, case .failure(let reason) = stream.flush() else { return }
        self.stream = nil
        finish(.failure(ConnectionFailure.lost("\(reason)", answered: false)))
    }

    private func cancel(_ number: Int) {
        if number > current {
            cancelledEarly = number  // the task was cancelled before its exchange reached the loop
        } else if number == current, pending != nil {
            finish(.failure(CancellationError()))
        }  // else: that exchange had finished; the connection has moved on
    }

    private func expire(_ number: Int) {
        deadlineTimer = nil
        if number == current, pending != nil { finish(.failure(ConnectionFailure.timedOut)) }
    }

    /// Resumes the waiting exchange, if any; on failure also closes.
    private func finish(_ result: Result<RawResponse, any Error>) {
        if let deadlineTimer {
            loop.cancelTimer(deadlineTimer)
            self.deadlineTimer = nil
        }
        if case .failure = result {
            usable.store(false, ordering: .releasing)
            stream?.close()
            stream = nil
        }
        pending?.resume(with: result)
        pending = nil
    }

    func streamOpened(_ stream: StreamSocket) {
        isOpen = true
        flush()
    }

    func streamReceived(_ stream: StreamSocket, _ input: UnsafeRawBufferPointer) -> Int {
        guard pending != nil else {
            // Bytes nobody asked for: the connection is out of step.
            finish(.failure(ConnectionFailure.malformed("unexpected bytes")))
            return input.count
        }
        received += input
        do {
            guard let response = try ResponseParser.parse(received) else { return input.count }
            if !response.keepAlive {
                usable.store(false, ordering: .releasing)
                self.stream?.close()
                self.stream = nil
            }
            finish(.success(response))
        } catch {
            finish(.failure(ConnectionFailure.malformed(error.description)))
        }
        return input.count
    }

    func streamClosed(_ stream: StreamSocket, _ reason: StreamCloseReason) {
        self.stream = nil
        usable.store(false, ordering: .releasing)
        if pending != nil, let response = try? ResponseParser.parse(received, atEnd: true) {
            return finish(.success(response))
        }
        let failure: ConnectionFailure
        switch reason {
        case .connectFailed: failure = .connect("\(reason)")
        case .handshakeFailed, .handshakeTimedOut: failure = .handshake("\(reason)")
        default: failure = .lost("\(reason)", answered: !received.isEmpty)
        }
        finish(.failure(failure))
    }
}
