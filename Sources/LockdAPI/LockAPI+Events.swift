import LockEngine
import LockdHTTP

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
        await engine.watchEvents(id, prefix: prefix, within: ReadableNames.current) { delivery in
            let event = ServerSentEvent(id: String(delivery.sequence), event: delivery.event.kind.rawValue,
                                        data: String(decoding: LockJSON.event(delivery.event), as: UTF8.self))
            guard stream.send(event) == .queued else { return false }
            metrics.sentOne()
            return true
        }
        return stream.response(headers: ["X-Accel-Buffering": "no"])
    }
}

/// Lets a stream's end handler, made before the stream, ask how it ended.
private final class StreamBox: @unchecked Sendable {
    // Safe: `stream` is written once, before the stream can end (its end
    // handler, the only reader, runs after the response is made), and the
    // stream's own end goes through its AsyncStream's synchronization.
    var stream: ServerSentEventStream?
}
