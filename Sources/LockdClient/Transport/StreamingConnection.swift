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
    private var stream: StreamSocket?
    private var request: [UInt8] = []
    private var head: [UInt8] = []
    private var pending: CheckedContinuation<Response, any Error>?
    private let body: AsyncThrowingStream<[UInt8], any Error>
    private let continuation: AsyncThrowingStream<[UInt8], any Error>.Continuation

    init(loop: EventLoop, address: SocketAddress, tls: StreamSocket.TLS?) {
        self.loop = loop
        self.address = address
        self.tls = tls
        (body, continuation) = AsyncThrowingStream.makeStream(of: [UInt8].self, bufferingPolicy: .bufferingOldest(Self.maxPendingPieces))
    }

    /// Sends `request` and returns once the response head has arrived; the
    /// body goes on until the server closes or the reader stops iterating.
    /// - Throws: ``ConnectionFailure``, or `CancellationError`.
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
        do {
            stream = try StreamSocket.connect(to: address, on: loop, tls: tls, delegate: self)
        } catch {
            return fail(ConnectionFailure.connect("\(error)"))
        }
        self.request = request
    }

    private func close() {
        stream?.close()
        stream = nil
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
        if end.upperBound < head.count { continuation.yield(Array(head[end.upperBound...])) }
        head = []
        pending.resume(returning: Response(status: status, fields: fields, body: body))
        return input.count
    }

    func streamClosed(_ stream: StreamSocket, _ reason: StreamCloseReason) {
        self.stream = nil
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
