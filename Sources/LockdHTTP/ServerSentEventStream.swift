import Synchronization

/// A `text/event-stream` response whose events a producer pushes, from any
/// thread, without ever waiting for the reader.
///
/// Memory stays bounded however slow the reader: at most
/// ``Configuration/backlog`` events wait between the producer and the
/// connection, and at most ``HTTPServerConfiguration/maxStreamBacklog``
/// bytes in the connection's output queue. Past either bound the stream is
/// ended with a last comment line saying the reader fell behind, and the
/// connection closes; other streams are not affected. A comment line
/// (`: keep-alive`) goes out every ``ServerSentEventKeepAlive/interval``
/// (15 s unless configured). A server shutdown or a client that
/// disconnects ends the stream too; the producer learns of every end through `onEnd` (and ``send(_:)`` answers
/// ``SendResult/ended`` from then on).
///
/// ```swift
/// let stream = ServerSentEventStream(onEnd: { hub.unsubscribe(id) })
/// hub.subscribe(id) { event in stream.send(ServerSentEvent(id: event.id, event: event.kind, data: event.json)) }
/// return stream.response()
/// ```
///
/// An idle stream holds this object (its small state and an empty event
/// buffer), the response body's task suspended on the next event, and an
/// entry in the shared keep-alive, besides the connection itself: about
/// 9 KB more than an idle keep-alive connection, measured with 1 000 streams
/// (mostly the body's task).
public final class ServerSentEventStream: Sendable {
    /// The bounds and timing of a stream.
    public struct Configuration: Sendable {
        /// Events that may wait for the connection to take them; one more
        /// ends the stream as too slow.
        public var backlog: Int
        /// What sends the `: keep-alive` comment lines, and how often.
        public var keepAlive: ServerSentEventKeepAlive

        /// Creates a configuration: 256 events, a keep-alive every 15 s.
        public init(backlog: Int = 256, keepAlive: ServerSentEventKeepAlive = .standard) {
            self.backlog = backlog
            self.keepAlive = keepAlive
        }
    }

    /// What became of an event handed to ``send(_:)``.
    public enum SendResult: Sendable, Equatable {
        /// Queued for the reader.
        case queued
        /// The stream has ended (reader too slow, disconnected, server
        /// shutting down, or ``finish()``): stop sending to it.
        case ended
    }

    /// What wakes the response body: events are waiting, or a keep-alive is due.
    private enum Piece: Sendable {
        case events
        case keepAlive
    }

    /// Events sent and not yet taken by the body: the body writes what
    /// waits in few writes (up to ``batchBytes`` each), so a reader that
    /// keeps up costs one write per batch rather than one per event.
    private struct Pending {
        var events: [[UInt8]] = []
        var ended = false
    }

    /// The most a batch holds (at least one event): well under a
    /// connection's output bound, so a batch alone never trips it.
    static let batchBytes = 8 << 10

    /// `: keep-alive`, encoded once: a thousand idle streams send it every
    /// 15 s, and encoding it each time was 40% of that (callgrind).
    static let keepAliveComment = ServerSentEvent.comment("keep-alive")

    /// The last words to a reader that fell behind.
    static let tooSlow = "the server closed this stream: the reader fell behind and its backlog is full"

    private let configuration: Configuration
    private let pieces: AsyncStream<Piece>
    private let continuation: AsyncStream<Piece>.Continuation
    /// Set once the reader fell behind: the body ends with ``tooSlow``
    /// instead of writing what waits.
    private let fellBehind = Atomic<Bool>(false)
    private let backlog = Backlog()

    /// ``Pending`` in a box the end handler can share.
    private final class Backlog: Sendable {
        let state = Mutex(Pending())
    }

    /// Creates a stream; `onEnd` runs once, whenever and however it ends.
    public init(configuration: Configuration = Configuration(), onEnd: @escaping @Sendable () -> Void = {}) {
        self.configuration = configuration
        // Only wake-ups wait here (the newest are kept): events wait in `pending`.
        (pieces, continuation) = AsyncStream.makeStream(of: Piece.self, bufferingPolicy: .bufferingNewest(2))
        continuation.onTermination = { [backlog] _ in
            backlog.state.withLock { $0.ended = true }
            onEnd()
        }
    }

    /// Whether the stream ended because its reader fell behind (so far).
    public var endedTooSlow: Bool { fellBehind.load(ordering: .relaxed) }

    /// Queues `event` for the reader; never waits. Past the backlog the
    /// stream ends as too slow.
    @discardableResult
    public func send(_ event: ServerSentEvent) -> SendResult {
        send(encoded: event.encoded)
    }

    /// Queues an event already encoded (``ServerSentEvent/encoded``): one
    /// encoding for many streams that carry the same event.
    @discardableResult
    public func send(encoded bytes: [UInt8]) -> SendResult {
        enum Outcome { case queued, queuedFirst, tooSlow, ended }
        let outcome = backlog.state.withLock { pending -> Outcome in
            if pending.ended { return .ended }
            guard pending.events.count < max(1, configuration.backlog) else {
                pending.ended = true
                return .tooSlow
            }
            pending.events.append(bytes)
            return pending.events.count == 1 ? .queuedFirst : .queued
        }
        switch outcome {
        case .queued:
            return .queued
        case .queuedFirst:
            if case .terminated = continuation.yield(.events) { return .ended }
            return .queued
        case .tooSlow:
            fellBehind.store(true, ordering: .relaxed)
            continuation.finish()
            return .ended
        case .ended:
            return .ended
        }
    }

    /// Takes the events that wait, whole, up to ``batchBytes``.
    private func takePending() -> [UInt8] {
        backlog.state.withLock { pending in
            var batch: [UInt8] = []
            var taken = 0
            for event in pending.events {
                if taken > 0, batch.count + event.count > Self.batchBytes { break }
                batch += event
                taken += 1
            }
            pending.events.removeFirst(taken)
            return batch
        }
    }

    /// Ends the stream once the events already sent are written.
    public func finish() {
        continuation.finish()
    }

    /// The `200 text/event-stream` response that carries the stream. Serve
    /// it once; a response never sent (`HEAD`, a client gone first) ends
    /// the stream.
    public func response(headers: HTTPHeaders = HTTPHeaders()) -> HTTPResponse {
        var headers = headers
        headers.replaceOrAdd(name: "Content-Type", value: "text/event-stream")
        headers.replaceOrAdd(name: "Cache-Control", value: "no-cache")
        return HTTPResponse(status: .ok, headers: headers, bodyStream: HTTPResponseBodyStream({ [self] writer in
            let id = ObjectIdentifier(self)
            configuration.keepAlive.add(id) { [continuation] in
                if case .terminated = continuation.yield(.keepAlive) { return false }
                return true
            }
            await write(to: writer)
            configuration.keepAlive.remove(id)
        }, dropped: { [continuation] in continuation.finish() }))
    }

    /// Writes pieces as they come until the stream ends, the connection
    /// closes, or the reader falls behind (then says so, last).
    private func write(to writer: HTTPResponseBodyWriter) async {
        // Ending the sequence wakes the producer's onEnd as well as this loop.
        defer { continuation.finish() }
        pieces: for await piece in pieces {
            var bytes = takePending()
            if case .keepAlive = piece { bytes += Self.keepAliveComment }
            while !bytes.isEmpty {
                if fellBehind.load(ordering: .relaxed) { break pieces }
                switch await writer.write(bytes) {
                case .written:
                    bytes = takePending()
                case .backlogFull:
                    fellBehind.store(true, ordering: .relaxed)
                    // The connection allows one last piece, then closes.
                    _ = await writer.write(ServerSentEvent.comment(Self.tooSlow))
                    return
                case .closed:
                    return
                }
            }
        }
        if fellBehind.load(ordering: .relaxed) {
            _ = await writer.write(ServerSentEvent.comment(Self.tooSlow))
            await writer.closeConnectionAfterBody()
        } else {
            // Finished by the producer: what it sent before goes out.
            var rest = takePending()
            while !rest.isEmpty, case .written = await writer.write(rest) { rest = takePending() }
        }
    }
}
