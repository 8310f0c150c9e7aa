import LockbenchCore
import LockdTransport

/// One simulated client: a keep-alive HTTP/1.1 connection (plaintext or
/// TLS, through the same ``StreamSocket`` lockd serves with) that runs
/// acquire → release cycles, one request outstanding at a time.
final class BenchConnection: StreamSocketDelegate, @unchecked Sendable {
    // Safe to share: the connection is created on its worker's loop thread
    // (in `LoopWorker.connectAll`), its stream is registered with that loop
    // only, and every method is called from that thread — by the stream's
    // delegate calls, the loop's timers, or the worker's own loop-thread
    // code. No other thread ever holds a reference.

    private enum Phase {
        case idle
        case acquiring(name: Int, sentAt: UInt64)
        case releasing(name: Int, sentAt: UInt64)
    }

    private let worker: LoopWorker
    private let names: [Int]
    private var nextName = 0
    private var random: SplitMix64
    private var stream: StreamSocket?
    private var isConnecting = false
    private var phase = Phase.idle
    /// Set while handling a response that carried `Connection: close`: the
    /// next request goes out on a fresh connection.
    private var serverClosing = false
    /// A request to send once the connection is open.
    private var unsent: [UInt8] = []
    private var releaseRequest: [UInt8] = []

    /// Creates client number `client` using the name indices `names`.
    init(worker: LoopWorker, client: Int, names: [Int]) {
        self.worker = worker
        self.names = names
        self.random = SplitMix64(seed: UInt64(client) &* 0x9E37_79B9 &+ MonotonicClock.now())
        self.nextName = names.isEmpty ? 0 : client % names.count
    }

    /// When the outstanding request was written, if one is.
    var requestSentAt: UInt64? {
        switch phase {
        case .acquiring(_, let sentAt), .releasing(_, let sentAt): sentAt
        case .idle: nil
        }
    }

    /// Whether a connection is open or being opened.
    var isOpen: Bool { stream != nil }

    // MARK: Connection lifecycle

    /// Starts connecting (and the TLS handshake, for https); once open the
    /// worker hears of it through `connectionReady`, or of a failure through
    /// `connectionFailed`.
    func connect() {
        do {
            stream = try StreamSocket.connect(to: worker.address, on: worker.loop, tls: worker.tls, delegate: self)
            isConnecting = true
        } catch {
            connectFailed(reason: "\(error)")
        }
    }

    /// Closes the connection without counting an error (end of run).
    func close() {
        closeStream()
        phase = .idle
    }

    /// Drops a broken connection: counts `error`, forgets a lease it may
    /// hold, and lets the worker decide whether to reconnect.
    func drop(_ error: WritableKeyPath<ErrorCounts, Int>) {
        worker.count(error)
        abandonLease()
        close()
        worker.connectionDropped(self)
    }

    private func closeStream() {
        stream?.close()
        stream = nil
        isConnecting = false
        unsent.removeAll()
    }

    private func abandonLease() {
        if case .releasing(let name, _) = phase { worker.handoffs?.abandoned(name: name) }
    }

    private func connectFailed(reason: String) {
        abandonLease()
        close()
        worker.connectionFailed(self, reason: reason)
    }

    // MARK: Stream events

    func streamOpened(_ stream: StreamSocket) {
        isConnecting = false
        if unsent.isEmpty {
            worker.connectionReady(self)
        } else {
            let bytes = unsent
            unsent.removeAll()
            send(bytes)
        }
    }

    func streamReceived(_ stream: StreamSocket, _ input: UnsafeRawBufferPointer) -> Int {
        var offset = 0
        while offset < input.count, self.stream === stream {
            let parsed: (HTTPResponse, Int)?
            do {
                parsed = try input.withMemoryRebound(to: UInt8.self) { bytes throws(HTTPResponseError) in
                    try HTTPResponseParser.parse(UnsafeBufferPointer(rebasing: bytes[offset...]))
                }
            } catch {
                drop(\.malformed)
                return input.count
            }
            guard let (response, used) = parsed else {
                if input.count - offset > 2 * HTTPResponseParser.maxBodyBytes { drop(\.malformed) }
                return offset
            }
            offset += used
            serverClosing = !response.keepAlive
            handle(response)
            if serverClosing {
                // Nothing was sent after the server's last answer (a failed
                // reconnect, say): make sure the old connection is not reused.
                serverClosing = false
                if self.stream === stream {
                    close()
                    worker.connectionDropped(self)
                }
                return input.count
            }
        }
        return offset
    }

    func streamClosed(_ stream: StreamSocket, _ reason: StreamCloseReason) {
        guard self.stream === stream else { return }
        self.stream = nil
        if isConnecting {
            connectFailed(reason: "\(reason)")
        } else {
            drop(\.closed)
        }
    }

    // MARK: Cycles

    /// Starts the next cycle, or closes when the run is over.
    func startCycle() {
        guard !worker.isStopping else {
            close()
            worker.connectionFinished(self)
            return
        }
        guard !names.isEmpty else { return }
        let name: Int
        if worker.plan.isContended {
            name = names[Int(random.next() % UInt64(names.count))]
        } else {
            name = names[nextName]
            nextName = (nextName + 1) % names.count
        }
        phase = .acquiring(name: name, sentAt: MonotonicClock.now())
        send(worker.acquireRequest(name))
    }

    private func handle(_ response: HTTPResponse) {
        let now = MonotonicClock.now()
        switch phase {
        case .acquiring(let name, let sentAt):
            worker.recordAcquire(status: response.status, latency: now &- sentAt, at: now)
            guard response.status == 201 || response.status == 200 else { return startCycle() }
            guard let token = JSONStringField.value(of: "token", in: response.body) else {
                worker.count(\.malformed)
                return startCycle()
            }
            worker.granted(name: name, at: now, acquireSentAt: sentAt)
            worker.requests.release(name: worker.name(name), token: token, into: &releaseRequest)
            phase = .releasing(name: name, sentAt: MonotonicClock.now())
            send(releaseRequest)
        case .releasing(let name, let sentAt):
            worker.recordRelease(status: response.status, latency: now &- sentAt, at: now)
            if response.status == 204 {
                worker.released(name: name, at: now)
            } else {
                worker.handoffs?.abandoned(name: name)
            }
            startCycle()
        case .idle:
            drop(\.malformed)  // an answer to nothing
        }
    }

    // MARK: Bytes

    private func send(_ bytes: [UInt8]) {
        if serverClosing {
            // The server closes after its last answer: reconnect, then send.
            serverClosing = false
            closeStream()
            unsent = bytes
            connect()
            return
        }
        guard let stream else { return }
        if isConnecting {
            unsent = bytes
            return
        }
        stream.queueOutput { $0 += bytes }
        if case .failure = stream.flush() {
            self.stream = nil
            drop(\.closed)
        }
    }
}
