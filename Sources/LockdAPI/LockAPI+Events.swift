import LockEngine
import LockdHTTP
import Synchronization

extension LockAPI {
    /// `GET /events?prefix=P`: a `text/event-stream` of the lock events of
    /// names under `P` (and, with auth on, in the names the client may read),
    /// from every lockd sharing the store. Each event's `id:` is
    /// `EPOCH-SEQUENCE` (``LockEventHub/eventID(_:)``), its `event:` the
    /// kind, its `data:` the JSON of ``LockJSON/event(_:)``. The stream is
    /// bounded and kept alive by ``ServerSentEventStream``; it ends when the
    /// reader falls behind, disconnects, or lockd shuts down — and when
    /// events may have gone missing on their way to this lockd (its store
    /// subscription was renewed), so that the reader resumes and is told.
    ///
    /// A request with `Last-Event-ID` is answered with `Events-Resumed:
    /// true` when the events it missed are replayed first (see
    /// ``LockEventHub/watch(_:prefix:within:resumingAfter:replayLimit:sink:end:)``),
    /// `false` when the stream starts afresh and some may be lost.
    func events(_ request: HTTPRequest, _ context: HTTPRequestContext) async -> HTTPResponse {
        let prefix: String
        do throws(LockError) {
            let query = try QueryParameters(request.query, allowed: ["prefix"])
            prefix = query["prefix"] ?? ""
            guard LockName.isValidPrefix(prefix) else {
                throw .invalidRequest("prefix may contain only A-Z a-z 0-9 . _ : - and at most \(LockName.maxLength) bytes")
            }
        } catch {
            return error.response(name: nil)
        }
        let hub = engine.events
        let id = hub.makeWatchID()
        let metrics = eventStreamMetrics
        let box = StreamBox()
        let stream = ServerSentEventStream(configuration: eventStreams) {
            let fellBehind = box.stream?.endedTooSlow ?? false
            box.forget.withLock { $0 }?()
            // A reader gone for other reasons may come back for what it
            // missed; one whose reading a reload revoked may not.
            hub.unwatch(id, linger: !fellBehind && !box.revoked.load(ordering: .relaxed))
            metrics.closed(fellBehind: fellBehind)
        }
        box.stream = stream
        // With auth on: a reload that revokes the client's reading ends it.
        let forget = RevocableStream.register?({
            box.revoked.store(true, ordering: .relaxed)
            stream.finish()
        })
        box.forget.withLock { $0 = forget }
        metrics.opened()
        let encoder = eventEncoder
        let lastEventID = request.headers["Last-Event-ID"]
        // Half the backlog at most, so a replay leaves the reader room.
        let resumed = await engine.watchEvents(id, prefix: prefix, within: ReadableNames.current, resumingAfter: lastEventID,
                                               replayLimit: eventStreams.backlog / 2, sink: { delivery in
            guard stream.send(encoded: encoder.encoded(delivery, epoch: hub.epoch)) == .queued else { return false }
            metrics.sentOne()
            return true
        }, end: { stream.finish() })
        var headers: HTTPHeaders = ["X-Accel-Buffering": "no"]
        if lastEventID != nil { headers.add(name: "Events-Resumed", value: resumed ? "true" : "false") }
        return stream.response(headers: headers)
    }
}

/// Encodes each event once for all the streams that carry it: the hub
/// hands one delivery to every stream in turn, so the last encoding is the
/// one the next stream needs.
final class EventEncoder: Sendable {
    private let last = Mutex<(sequence: UInt64, bytes: [UInt8])>((0, []))

    /// The `id:`, `event:` and `data:` lines of `delivery`, numbered in `epoch`.
    func encoded(_ delivery: LockEventHub.Delivery, epoch: String) -> [UInt8] {
        if let bytes = last.withLock({ $0.sequence == delivery.sequence ? $0.bytes : nil }) { return bytes }
        // Written as bytes: the id is hex, a dash and digits, the kind a word, and the JSON
        // one line (JSON strings escape line breaks), so no field needs
        // ServerSentEvent's line splitting.
        var bytes: [UInt8] = []
        bytes.reserveCapacity(256)
        bytes += "id: ".utf8
        bytes += epoch.utf8
        bytes.append(UInt8(ascii: "-"))
        ASCIIDigits.append(Int64(truncatingIfNeeded: delivery.sequence), to: &bytes)
        bytes += "\nevent: ".utf8
        bytes += delivery.event.kind.rawValue.utf8
        bytes += "\ndata: ".utf8
        bytes += LockJSON.event(delivery.event)
        bytes += "\n\n".utf8
        last.withLock { $0 = (delivery.sequence, bytes) }
        return bytes
    }
}

/// Lets a stream's end handler, made before the stream, ask how it ended.
private final class StreamBox: @unchecked Sendable {
    // Safe: `stream` is written once, before the stream can end (its end
    // handler, the only reader, runs after the response is made), and the
    // stream's own end goes through its AsyncStream's synchronization.
    var stream: ServerSentEventStream?
    /// Takes the stream off the auth rules' list. Behind a lock: a reload
    /// may end the stream as soon as it is registered, before this is set
    /// (and then the rules have dropped it already).
    let forget = Mutex<(@Sendable () -> Void)?>(nil)
    /// Ended by a reload that revoked the client's reading.
    let revoked = Atomic<Bool>(false)
}
