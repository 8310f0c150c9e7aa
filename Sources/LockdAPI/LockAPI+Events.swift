import LockEngine
import LockdHTTP
import Synchronization

extension LockAPI {
    /// `GET /events?prefix=P`: a `text/event-stream` of the lock events of
    /// names under `P` (and, with auth on, in the names the client may read),
    /// from every lockd sharing the store. Each event's `id:` is this
    /// instance's sequence number, its `event:` the kind, its `data:` the
    /// JSON of ``LockJSON/event(_:)``. The stream is bounded and kept alive
    /// by ``ServerSentEventStream``; it ends when the reader falls behind,
    /// disconnects, or lockd shuts down.
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
            hub.unwatch(id)
            metrics.closed(fellBehind: box.stream?.endedTooSlow ?? false)
        }
        box.stream = stream
        metrics.opened()
        let encoder = eventEncoder
        await engine.watchEvents(id, prefix: prefix, within: ReadableNames.current) { delivery in
            guard stream.send(encoded: encoder.encoded(delivery)) == .queued else { return false }
            metrics.sentOne()
            return true
        }
        return stream.response(headers: ["X-Accel-Buffering": "no"])
    }
}

/// Encodes each event once for all the streams that carry it: the hub
/// hands one delivery to every stream in turn, so the last encoding is the
/// one the next stream needs.
final class EventEncoder: Sendable {
    private let last = Mutex<(sequence: UInt64, bytes: [UInt8])>((0, []))

    /// The `id:`, `event:` and `data:` lines of `delivery`.
    func encoded(_ delivery: LockEventHub.Delivery) -> [UInt8] {
        if let bytes = last.withLock({ $0.sequence == delivery.sequence ? $0.bytes : nil }) { return bytes }
        // Written as bytes: the id is digits, the kind a word, and the JSON
        // one line (JSON strings escape line breaks), so no field needs
        // ServerSentEvent's line splitting.
        var bytes: [UInt8] = []
        bytes.reserveCapacity(256)
        bytes += "id: ".utf8
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
}
