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
/// buffer) and an entry in the shared keep-alive, besides the connection
/// itself — no task: the body is pushed (``HTTPResponseBodyStream/init(pushed:ended:dropped:)``),
/// and a send that finds the buffer empty asks the connection's loop to
/// write, once per batch.
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

    /// How a stream ends.
    private enum Ending {
        /// What was sent before goes out, then the body ends (``finish()``,
        /// the server draining, the connection closed).
        case finished
        /// The reader fell behind: the body ends with ``tooSlow``, and the connection closes.
        case tooSlow
    }

    /// Everything the producer and the connection's loop share.
    private struct State {
        /// Events sent and not yet written: the loop writes what waits in
        /// few writes (up to ``batchBytes`` each), so a reader that keeps up
        /// costs one write per batch rather than one per event.
        var events: [[UInt8]] = []
        var keepAliveDue = false
        /// Set once; from then on sends answer `.ended`.
        var ending: Ending?
        /// The connection's writer, once the head is out.
        var writer: HTTPResponseBodyWriter?
        /// A write is already asked of the loop.
        var writeAsked = false
        /// The body has ended (or was never to be written): nothing more to do.
        var done = false
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
    private let onEnd: @Sendable () -> Void
    private let state = Mutex(State())
    /// Set once the reader fell behind.
    private let fellBehind = Atomic<Bool>(false)

    /// Creates a stream; `onEnd` runs once, whenever and however it ends.
    public init(configuration: Configuration = Configuration(), onEnd: @escaping @Sendable () -> Void = {}) {
        self.configuration = configuration
        self.onEnd = onEnd
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
        enum Outcome { case queued, ended, tooSlow }
        let (outcome, writer) = state.withLock { state -> (Outcome, HTTPResponseBodyWriter?) in
            if state.ending != nil { return (.ended, nil) }
            guard state.events.count < max(1, configuration.backlog) else { return (.tooSlow, nil) }
            state.events.append(bytes)
            return (.queued, Self.askWrite(&state))
        }
        if case .tooSlow = outcome { end(.tooSlow) }
        if let writer { writer.execute { [self] in write() } }
        return outcome == .queued ? .queued : .ended
    }

    /// Ends the stream once the events already sent are written.
    public func finish() {
        end(.finished)
    }

    /// The `200 text/event-stream` response that carries the stream. Serve
    /// it once; a response never sent (`HEAD`, a client gone first) ends
    /// the stream.
    public func response(headers: HTTPHeaders = HTTPHeaders()) -> HTTPResponse {
        var headers = headers
        headers.replaceOrAdd(name: "Content-Type", value: "text/event-stream")
        headers.replaceOrAdd(name: "Cache-Control", value: "no-cache")
        return HTTPResponse(status: .ok, headers: headers, bodyStream: HTTPResponseBodyStream(pushed: { [self] writer in
            state.withLock { $0.writer = writer }
            configuration.keepAlive.add(ObjectIdentifier(self)) { [self] in beat() }
            // What was sent before the head went out, or an end that came first.
            write()
        }, ended: { [self] in
            end(.finished)
        }, dropped: { [self] in
            state.withLock { $0.done = true }
            end(.finished)
        }))
    }

    // MARK: Writing (on the connection's loop)

    /// The writer to ask for a write, if none is asked yet and the head is out.
    private static func askWrite(_ state: inout State) -> HTTPResponseBodyWriter? {
        guard !state.writeAsked, !state.done, let writer = state.writer else { return nil }
        state.writeAsked = true
        return writer
    }

    /// Sets how the stream ends (the first call only) and tells the producer.
    private func end(_ ending: Ending) {
        let (first, writer) = state.withLock { state -> (Bool, HTTPResponseBodyWriter?) in
            guard state.ending == nil else { return (false, nil) }
            state.ending = ending
            return (true, Self.askWrite(&state))
        }
        if first {
            if case .tooSlow = ending { fellBehind.store(true, ordering: .relaxed) }
            onEnd()
        }
        if let writer { writer.execute { [self] in write() } }
    }

    /// A keep-alive is due; false once the stream has ended.
    private func beat() -> Bool {
        let (open, writer) = state.withLock { state -> (Bool, HTTPResponseBodyWriter?) in
            guard state.ending == nil else { return (false, nil) }
            state.keepAliveDue = true
            return (true, Self.askWrite(&state))
        }
        if let writer { writer.execute { [self] in write() } }
        return open
    }

    /// Writes what waits, batch by batch, and ends the body once the stream
    /// has ended and what it owes is out.
    private func write() {
        while true {
            let (bytes, ending, writer) = state.withLock { state -> ([UInt8], Ending?, HTTPResponseBodyWriter?) in
                state.writeAsked = false
                guard !state.done, let writer = state.writer else { return ([], nil, nil) }
                if case .tooSlow = state.ending { return ([], .tooSlow, writer) }
                var batch: [UInt8] = []
                var taken = 0
                for event in state.events {
                    if taken > 0, batch.count + event.count > Self.batchBytes { break }
                    batch += event
                    taken += 1
                }
                state.events.removeFirst(taken)
                if state.keepAliveDue, state.events.isEmpty {
                    state.keepAliveDue = false
                    batch += Self.keepAliveComment
                }
                // Ends only once everything sent before is out.
                return (batch, state.events.isEmpty ? state.ending : nil, writer)
            }
            guard let writer else { return }
            if case .tooSlow = ending { return endBody(writer, lastWords: true) }
            if !bytes.isEmpty {
                switch writer.writeNow(bytes) {
                case .written:
                    break
                case .backlogFull:
                    // The connection allows one last piece, then closes.
                    end(.tooSlow)
                    return endBody(writer, lastWords: true)
                case .closed:
                    end(.finished)
                    return endBody(writer, lastWords: false)
                }
            }
            if ending != nil { return endBody(writer, lastWords: false) }
            if bytes.isEmpty { return }
        }
    }

    /// Ends the body: with `lastWords`, after ``tooSlow`` and closing the connection.
    private func endBody(_ writer: HTTPResponseBodyWriter, lastWords: Bool) {
        let first = state.withLock { state -> Bool in
            guard !state.done else { return false }
            state.done = true
            state.writer = nil
            state.events = []
            return true
        }
        guard first else { return }
        configuration.keepAlive.remove(ObjectIdentifier(self))
        if lastWords { _ = writer.writeNow(ServerSentEvent.comment(Self.tooSlow)) }
        writer.endNow(closingConnection: lastWords)
    }
}
