import LockbenchCore
import LockdTransport

/// One simulated client: a keep-alive HTTP/1.1 connection that runs
/// acquire → release cycles, one request outstanding at a time.
final class BenchConnection: EventHandler, @unchecked Sendable {
    // Safe to share: the connection is created on its worker's loop thread
    // (in `LoopWorker.connectAll`), registered with that loop only, and every
    // method is called from that thread — by the loop's event dispatch, its
    // timers, or the worker's own loop-thread code. No other thread ever
    // holds a reference.

    private enum Phase {
        case idle
        case acquiring(name: Int, sentAt: UInt64)
        case releasing(name: Int, sentAt: UInt64)
    }

    private let worker: LoopWorker
    private let names: [Int]
    private var nextName = 0
    private var random: SplitMix64
    private var socket: Socket?
    private var isConnecting = false
    private var phase = Phase.idle
    /// Set while handling a response that carried `Connection: close`: the
    /// next request goes out on a fresh connection.
    private var serverClosing = false
    private var inbox = [UInt8](repeating: 0, count: 4096)
    private var inboxCount = 0
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

    /// Whether a socket is open or being opened.
    var isOpen: Bool { socket != nil }

    // MARK: Connection lifecycle

    /// Starts connecting; once connected the worker hears of it through
    /// `connectionReady`, or of a failure through `connectionFailed`.
    func connect() {
        do {
            let socket = try Socket.connect(to: worker.address)
            try worker.loop.register(fd: socket.fd, events: [.writable], handler: self)
            self.socket = socket
            isConnecting = true
        } catch {
            connectFailed(reason: "\(error)")
        }
    }

    /// Closes the connection without counting an error (end of run).
    func close() {
        closeSocket()
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

    private func closeSocket() {
        guard let socket else { return }
        worker.loop.deregister(fd: socket.fd)
        socket.close()
        self.socket = nil
        isConnecting = false
        inboxCount = 0
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

    /// Finishes a connect, flushes pending bytes, or reads responses.
    func handleEvents(_ events: EpollEvents) {
        guard let socket else { return }
        if isConnecting {
            let code = socket.pendingError()
            guard code == 0 else {
                return connectFailed(reason: "\(TransportError("connect(\(worker.address))", code: code))")
            }
            isConnecting = false
            try? worker.loop.modify(fd: socket.fd, events: unsent.isEmpty ? [.readable] : [.readable, .writable])
            if unsent.isEmpty { worker.connectionReady(self) }
            return
        }
        if events.contains(.writable) { flush() }
        if !events.isDisjoint(with: [.readable, .hangup, .error]) { readAvailable() }
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
            closeSocket()
            unsent = bytes
            connect()
            return
        }
        guard let socket else { return }
        let result = bytes.withUnsafeBytes { socket.write($0) }
        switch result {
        case .bytes(let written) where written == bytes.count:
            return
        case .bytes(let written):
            unsent = Array(bytes[written...])
        case .wouldBlock:
            unsent = bytes
        case .failed:
            return drop(\.closed)
        }
        try? worker.loop.modify(fd: socket.fd, events: [.readable, .writable])
    }

    private func flush() {
        guard let socket, !unsent.isEmpty else { return }
        switch unsent.withUnsafeBytes({ socket.write($0) }) {
        case .bytes(let written):
            unsent.removeFirst(written)
            if unsent.isEmpty { try? worker.loop.modify(fd: socket.fd, events: [.readable]) }
        case .wouldBlock:
            return
        case .failed:
            drop(\.closed)
        }
    }

    private func readAvailable() {
        guard let socket else { return }
        if inboxCount == inbox.count {
            guard inbox.count < 2 * HTTPResponseParser.maxBodyBytes else { return drop(\.malformed) }
            inbox.append(contentsOf: repeatElement(0, count: inbox.count))
        }
        let filled = inboxCount
        let result = inbox.withUnsafeMutableBytes { buffer -> Socket.ReadResult in
            let room = UnsafeMutableRawBufferPointer(rebasing: buffer[filled...])
            guard let start = room.baseAddress else { return .wouldBlock }  // never: the inbox has room here
            return socket.read(into: start, count: room.count)
        }
        switch result {
        case .bytes(let count):
            inboxCount += count
            parseResponses()
        case .wouldBlock:
            return
        case .endOfFile, .failed:
            drop(\.closed)
        }
    }

    private func parseResponses() {
        while inboxCount > 0, socket != nil {
            let parsed: (HTTPResponse, Int)?
            do {
                parsed = try inbox.withUnsafeBufferPointer { buffer throws(HTTPResponseError) in
                    try HTTPResponseParser.parse(UnsafeBufferPointer(rebasing: buffer[0..<inboxCount]))
                }
            } catch {
                return drop(\.malformed)
            }
            guard let (response, used) = parsed else { return }
            if used < inboxCount {
                let remaining = inboxCount - used
                inbox.withUnsafeMutableBytes { buffer in
                    guard let base = buffer.baseAddress else { return }
                    base.copyMemory(from: base + used, byteCount: remaining)
                }
            }
            inboxCount -= used
            serverClosing = !response.keepAlive
            handle(response)
            if serverClosing {
                // Nothing was sent after the server's last answer (a failed
                // reconnect, say): make sure the old socket is not reused.
                serverClosing = false
                if socket != nil {
                    close()
                    worker.connectionDropped(self)
                }
                return
            }
        }
    }
}
