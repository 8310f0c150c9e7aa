public import Foundation
public import OpenAPIRuntime

/// The events of lockd's `GET /events` stream as an `AsyncSequence`: see
/// ``LockClient/events(prefix:)``.
///
/// The stream opens when iteration starts (retrying while lockd cannot be
/// reached or answers 503, for the client's timeout) and stays open until
/// the iterating task is cancelled or stops, or lockd ends it — shutting
/// down, or because this reader fell behind; then the sequence ends. Events
/// that happen while no stream is open are not replayed: start a new
/// iteration, and read the current state with ``LockClient/list(prefix:pageSize:)``.
public struct LockEvents: AsyncSequence, Sendable {
    public typealias Element = LockEvent

    let remote: RemoteLocks
    let prefix: String

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(remote: remote, prefix: prefix)
    }

    /// Reads events off one stream.
    public struct AsyncIterator: AsyncIteratorProtocol {
        typealias Events = ServerSentEventsDeserializationSequence<ServerSentEventsLineDeserializationSequence<HTTPBody>>

        let remote: RemoteLocks
        let prefix: String
        var events: Events.AsyncIterator?
        var finished = false

        /// The next event, or nil once the stream has ended.
        /// - Throws: ``LockError`` (the stream could not be opened: no `read`
        ///   grant, a bad prefix, lockd unreachable past the timeout), or
        ///   `CancellationError`.
        public mutating func next() async throws -> LockEvent? {
            guard !finished else { return nil }
            if events == nil { events = try await remote.events(prefix: prefix).asDecodedServerSentEvents().makeAsyncIterator() }
            while true {
                guard let event = try await events?.next() else {
                    finished = true
                    return nil
                }
                guard let kind = event.event.flatMap(LockEvent.Kind.init(rawValue:)), let data = event.data,
                      let wire = try? Self.decoder.decode(Components.Schemas.LockEvent.self, from: Data(data.utf8)) else { continue }
                return LockEvent(kind: kind, id: event.id, wire)
            }
        }

        private static let decoder: JSONDecoder = {
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .custom { decoder in
                try RFC3339DateTranscoder().decode(try decoder.singleValueContainer().decode(String.self))
            }
            return decoder
        }()
    }
}

extension LockClient {
    /// What happens to the leases of names starting with `prefix`, on every
    /// lockd that shares the store, as it happens: acquired, renewed,
    /// released, expired and lost (force-released) leases.
    ///
    /// ```swift
    /// for try await event in locks.events(prefix: "orders:") {
    ///     print(event.kind, event.name, event.fence, event.owner ?? "-")
    /// }
    /// ```
    ///
    /// Needs `read` on the names (with auth on, events of other names are
    /// left out). Over ``SocketTransport`` (the default) events arrive as
    /// lockd sends them; a transport that buffers whole bodies
    /// (URLSession's) delivers them only when the stream ends.
    ///
    /// - Parameter prefix: Only names that start with this; empty for all.
    public func events(prefix: String = "") -> LockEvents {
        LockEvents(remote: remote, prefix: prefix)
    }
}
