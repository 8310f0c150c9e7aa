import LockdTransport
import Synchronization

/// One connection that carries one request whose answer does not end by
/// itself — lockd's event stream — and hands its body on piece by piece as
/// it arrives. The request is sent as HTTP/1.0, so the body is the bare
/// stream, ended by the close (no chunk framing to undo).
///
/// At most ``maxPendingPieces`` received pieces wait for the reader; one
/// more ends the body with a failure, as lockd ends a stream whose reader
/// falls behind.
///
/// Two timers guard against a server that stops talking without closing (a
/// frozen process, a host gone without FIN or RST, a black-holed balancer):
/// the request's deadline bounds the wait for the response head, and once
/// the head is in, a body that brings no byte for `silenceLimit` ends with
/// a failure — lockd sends a comment line every 15 s, so long silence means
/// the stream is dead.
final class StreamingConnection: StreamSocketDelegate, @unchecked Sendable {
    // Safe to share: every mutable field is touched only on `loop`'s thread —
    // `open` and the body's termination reach it through `loop.execute`, and
    // the stream calls its delegate there.

    /// The response head, and its body as it arrives.
    struct Response: Sendable {
        var status: Int
        var fields: [(String, String)]
        var body: AsyncThrowingStream<[UInt8], any Error>
    }

    static let maxPendingPieces = 4_096
    private static let maxHeadBytes = 64 << 10

    private let loop: EventLoop
    private let address: SocketAddress
    private let tls: StreamSocket.TLS?
    private let deadline: ContinuousClock.Instant?
    private let silenceLimit: Duration?
    private var stream: StreamSocket?
    /// Ends the wait for the head at `deadline`, then the body after `silenceLimit` without input.
    private var timer: TimerID?
    /// When the body last brought bytes.
    private var lastInput = ContinuousClock.now
    private var request: [UInt8] = []
    private var head: [UInt8] = []
    private var pending: CheckedContinuation<Response, any Error>?
    private let body: AsyncThrowingStream<[UInt8], any Error>
    private let continuation: AsyncThrowingStream<[UInt8], any Error>.Continuation

    /// - Parameters:
    ///   - deadline: When to give up waiting for the response head; nil waits as long as it takes.
    ///   - silenceLimit: How long the body may bring no byte before it ends with a failure; nil for no limit.
    init(loop: EventLoop, address: SocketAddress, tls: StreamSocket.TLS?, deadline: ContinuousClock.Instant?, silenceLimit: Duration?) {
        self.loop = loop
        self.address = address
        self.tls = tls
        self.deadline = deadline
        self.silenceLimit = silenceLimit
        (body, continuation) = AsyncThrowingStream.makeStream(of: [UInt8].self, bufferingPolicy: .bufferingOldest(Self.maxPendingPieces))
    }

    /// Sends `request` and returns once the response head has arrived; the
    /// body goes on until the server closes, goes silent for the silence
    /// limit, or the reader stops iterating.
    /// - Throws: ``ConnectionFailure`` (``ConnectionFailure/timedOut`` when
    ///   the deadline passes before the head), or `CancellationError`.
    func open(_ request: [UInt8]) async throws -> Response {
        continuation.onTermination = { [loop] _ in loop.execute { self.close() } }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                loop.execute { self.begin(request, continuation) }
            }
        } onCancel: {
            loop.execute { self.fail(CancellationError()) }
        }
    }

    // MARK: Loop thread

    private func begin(_ request: [UInt8], _ continuation: CheckedContinuation<Response, any Error>) {
        pending = continuation
        if let deadline {
            let left = deadline - .now
            guard left > .zero else { return fail(ConnectionFailure.timedOut) }
            timer = loop.scheduleTimer(after: left) { self.headTimedOut() }
        }
        do {
            stream = try StreamSocket.connect(to: address, on: loop, tls: tls, delegate: self)
        } catch {
            return fail(ConnectionFailure.connect("\(error)"))
        }
        self.request = request
    }

    private func close() {
        stopTimer()
        stream?.close()
        stream = nil
    }

    private func stopTimer() {
        if let timer { loop.cancelTimer(timer) }
        timer = nil
    }

    private func headTimedOut() {
        timer = nil
        if pending != nil { fail(ConnectionFailure.timedOut) }
    }

    /// Ends the body when nothing came for `limit`; else looks again when that would be.
    private func watchSilence(_ limit: Duration) {
        timer = nil
        guard stream != nil else { return }
        let quiet = ContinuousClock.now - lastInput
        guard quiet < limit else {
            return fail(ConnectionFailure.lost("no byte from the server for \(limit): the stream is dead", answered: true))
        }
        timer = loop.scheduleTimer(after: limit - quiet) { self.watchSilence(limit) }
    }

    private func fail(_ error: any Error) {
        close()
        if let pending {
            self.pending = nil
            pending.resume(throwing: error)
        }
        continuation.finish(throwing: error)
    }

    func streamOpened(_ stream: StreamSocket) {
        stream.queueOutput { $0 += request }
        if case .failure(let reason) = stream.flush() { fail(ConnectionFailure.lost("\(reason)", answered: false)) }
    }

    func streamReceived(_ stream: StreamSocket, _ input: UnsafeRawBufferPointer) -> Int {
        guard let pending else {
            if silenceLimit != nil { lastInput = .now }
            if case .dropped = continuation.yield(Array(input)) {
                fail(ConnectionFailure.lost("the reader fell behind the event stream", answered: true))
            }
            return input.count
        }
        head += input
        guard let end = head.firstRange(of: Array("\r\n\r\n".utf8)) else {
            if head.count > Self.maxHeadBytes { fail(ConnectionFailure.malformed("response head too long")) }
            return input.count
        }
        guard let (status, fields) = Self.parseHead(head[..<end.lowerBound]) else {
            fail(ConnectionFailure.malformed("not an HTTP response"))
            return input.count
        }
        self.pending = nil
        stopTimer()
        if let silenceLimit {
            lastInput = .now
            timer = loop.scheduleTimer(after: silenceLimit) { self.watchSilence(silenceLimit) }
        }
        if end.upperBound < head.count { continuation.yield(Array(head[end.upperBound...])) }
        head = []
        pending.resume(returning: Response(status: status, fields: fields, body: body))
        return input.count
    }

    func streamClosed(_ stream: StreamSocket, _ reason: StreamCloseReason) {
        self.stream = nil
        stopTimer()
        if pending != nil {
            switch reason {
            case .connectFailed: fail(ConnectionFailure.connect("\(reason)"))
            case .handshakeFailed, .handshakeTimedOut: fail(ConnectionFailure.handshake("\(reason)"))
            default: fail(ConnectionFailure.lost("\(reason)", answered: !head.isEmpty))
            }
        } else {
            // The server ended the stream (shutting down, or the reader fell behind).
            continuation.finish()
        }
    }

    /// `HTTP/1.x CODE REASON` and the header fields.
    static func parseHead(_ bytes: ArraySlice<UInt8>) -> (Int, [(String, String)])? {
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\r\n", omittingEmptySubsequences: false)
        guard let statusLine = lines.first, statusLine.hasPrefix("HTTP/1."),
              let code = statusLine.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else { return nil }
        var fields: [(String, String)] = []
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields.append((String(line[..<colon]), String(line[line.index(after: colon)...].drop { $0 == " " || $0 == "\t" })))
        }
        return (code, fields)
    }
}
