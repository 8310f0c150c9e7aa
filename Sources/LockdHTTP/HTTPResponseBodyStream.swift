import LockdTransport

/// A response body produced after the head, in pieces (a Server-Sent Events
/// stream, say): the server sends the head, then runs `produce` as a task on
/// the connection's loop, sending each piece it writes as it comes — chunked
/// for HTTP/1.1, delimited by the connection's close for HTTP/1.0. The body
/// ends when `produce` returns. A body that waits for outside events most of
/// its life can instead be pushed, without a task (``init(pushed:ended:dropped:)``).
///
/// Flow control is the connection's output queue: ``HTTPResponseBodyWriter/write(_:)``
/// answers ``HTTPResponseBodyWriter/WriteResult/backlogFull`` once more than
/// ``HTTPServerConfiguration/maxStreamBacklog`` bytes wait for a slow reader;
/// the producer may write one last piece and should return, and the
/// connection then closes once the backlog is out (or the write timeout
/// passes). A client that disconnects, a server that shuts down, or a closed
/// connection cancels the task; writes then answer `.closed`.
///
/// ```swift
/// HTTPResponseBodyStream { writer in
///     while !Task.isCancelled {
///         guard await writer.write(Array(": keep-alive\n\n".utf8)) == .written else { return }
///         try? await Task.sleep(for: .seconds(15))
///     }
/// }
/// ```
///
/// A class, so that a response holds one reference where its producer and
/// hook were five words: every response, streamed or not, is moved several
/// times on its way from a handler to the connection, and a smaller one is
/// moved without a `memcpy` call.
public final class HTTPResponseBodyStream: Sendable {
    /// Who drives the body.
    enum Producer: Sendable {
        /// A task on the connection's loop runs the closure; the body ends when it returns.
        case task(@Sendable (HTTPResponseBodyWriter) async -> Void)
        /// The closure runs once on the loop after the head and hands the
        /// writer over; `ended` runs (on the loop) when the connection closes
        /// or the server drains it.
        case pushed(start: @Sendable (HTTPResponseBodyWriter) -> Void, ended: @Sendable () -> Void)
    }

    let producer: Producer
    /// Runs instead of the producer when the body is never to be written.
    let dropped: @Sendable () -> Void

    /// A body that `produce` writes; `dropped` runs instead when it never
    /// will be (a `HEAD` request, or a client gone before the head), so a
    /// producer fed from elsewhere can let go of it.
    public init(
        _ produce: @escaping @Sendable (HTTPResponseBodyWriter) async -> Void,
        dropped: @escaping @Sendable () -> Void = {}
    ) {
        self.producer = .task(produce)
        self.dropped = dropped
    }

    /// A body that something outside pushes, with no task of its own while
    /// it waits — for a long-lived stream that is idle most of the time (a
    /// task keeps ~2 KB of frames per stream, and many such long-lived
    /// blocks among the requests' short-lived ones fragment the loops' heap).
    ///
    /// `start` runs on the connection's loop once the head is queued: keep
    /// the writer and write with ``HTTPResponseBodyWriter/writeNow(_:)`` in
    /// work handed to ``HTTPResponseBodyWriter/execute(_:)``; end the body
    /// with ``HTTPResponseBodyWriter/endNow(closingConnection:)``. `ended`
    /// runs on the loop when the connection closes or the server drains
    /// (end the body soon then; writes to a closed connection answer
    /// `.closed`); `dropped` runs instead of `start` when the body is never
    /// to be written.
    public init(
        pushed start: @escaping @Sendable (HTTPResponseBodyWriter) -> Void,
        ended: @escaping @Sendable () -> Void,
        dropped: @escaping @Sendable () -> Void = {}
    ) {
        self.producer = .pushed(start: start, ended: ended)
        self.dropped = dropped
    }
}

/// Writes a streamed response body; handed to ``HTTPResponseBodyStream``'s closure.
public final class HTTPResponseBodyWriter: Sendable {
    /// What became of a write.
    public enum WriteResult: Sendable, Equatable {
        /// Queued for the client.
        case written
        /// Queued, but the client reads too slowly: the backlog is past its
        /// bound. Write at most a last piece and return; the connection closes.
        case backlogFull
        /// Not written: the connection is closed (or closing).
        case closed
    }

    private let connection: HTTPConnection

    init(connection: HTTPConnection) {
        self.connection = connection
    }

    /// Closes the connection once the body ends, rather than keeping it for
    /// another request: for a reader the producer gave up on.
    public func closeConnectionAfterBody() async {
        let loop = connection.context.loop
        if loop.inEventLoop { return connection.closeAfterBody() }
        await withCheckedContinuation { continuation in
            loop.execute { [connection] in
                connection.closeAfterBody()
                continuation.resume()
            }
        }
    }

    /// Runs `work` on the connection's loop (for a pushed body's writes).
    public func execute(_ work: @escaping @Sendable () -> Void) {
        connection.context.loop.execute(work)
    }

    /// Queues `bytes` as the next piece of the body and sends what the
    /// socket takes; on the connection's loop only (see ``execute(_:)``).
    public func writeNow(_ bytes: [UInt8]) -> WriteResult {
        connection.context.loop.preconditionInEventLoop()
        return connection.writeBodyPiece(bytes)
    }

    /// Ends a pushed body (once), and with `closingConnection` the
    /// connection after it; on the connection's loop only.
    public func endNow(closingConnection: Bool) {
        connection.context.loop.preconditionInEventLoop()
        if closingConnection { connection.closeAfterBody() }
        connection.endStreaming()
    }

    /// Queues `bytes` as the next piece of the body and sends what the socket takes.
    public func write(_ bytes: [UInt8]) async -> WriteResult {
        let loop = connection.context.loop
        if loop.inEventLoop { return connection.writeBodyPiece(bytes) }
        return await withCheckedContinuation { continuation in
            loop.execute { [connection] in continuation.resume(returning: connection.writeBodyPiece(bytes)) }
        }
    }
}
