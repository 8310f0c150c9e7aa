import OpenAPIRuntime

/// lockd's `GET /events` stream as an `AsyncSequence` that survives faults:
/// see ``LockClient/events(prefix:)``.
///
/// The stream opens when iteration starts (retrying while lockd cannot be
/// reached, does not answer or answers 503, for the client's timeout, then
/// throwing). Once open, it is reopened whenever it ends — lockd restarting,
/// a rolling deploy, a dropped connection, a reader that fell behind — or
/// goes silent: lockd sends a comment line every 15 s, so over
/// ``SocketTransport`` (the default) a stream that brings nothing for 45 s
/// (a frozen lockd, a host lost without closing the connection) is closed
/// and reopened. Reopening backs off (50 ms doubling to 2 s, never sooner
/// than lockd's SSE `retry:` or `Retry-After`), each attempt bounded by the
/// client's timeout, for as long as the task iterates. It sends the id of the
/// last event read (`Last-Event-ID`): when the same lockd kept the events
/// missed meanwhile, they come next, each once; otherwise the sequence
/// yields ``Element/gap`` before the first event of the new stream.
///
/// The sequence ends only when the iterating task is cancelled (it then
/// throws `CancellationError`) or lockd refuses the stream (no `read`
/// grant, a bad prefix: ``LockError``, never retried).
public struct LockEvents: AsyncSequence, Sendable {
    /// One element of the sequence: an event, or word that some may be missing.
    ///
    /// ```swift
    /// for try await element in locks.events(prefix: "orders:") {
    ///     switch element {
    ///     case .event(let event): view.apply(event)
    ///     case .gap: view.reset(try await locks.list(prefix: "orders:"))
    ///     }
    /// }
    /// ```
    public enum Element: Sendable, Hashable {
        /// Something happened to a lease.
        case event(LockEvent)
        /// The stream was reopened and events may have been missed while it
        /// was down (another or a restarted lockd, too long away, a reader
        /// that fell behind): read the current state again with
        /// ``LockClient/list(prefix:pageSize:)``. Events after it are new.
        case gap

        /// The event, or nil for ``gap``.
        public var event: LockEvent? {
            if case .event(let event) = self { event } else { nil }
        }
    }

    /// Three of lockd's 15 s keep-alive intervals without a byte: the stream is dead.
    static let defaultSilenceLimit: Duration = .seconds(45)

    let remote: RemoteLocks
    let prefix: String
    /// How long a stream may bring no byte before it is closed and reopened (tests shorten it).
    var silenceLimit = Self.defaultSilenceLimit

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(remote: remote, prefix: prefix, silenceLimit: silenceLimit)
    }

    /// Reads events off one stream after another.
    public struct AsyncIterator: AsyncIteratorProtocol {
        typealias Events = ServerSentEventsDeserializationSequence<ServerSentEventsLineDeserializationSequence<HTTPBody>>

        let remote: RemoteLocks
        let prefix: String
        let silenceLimit: Duration
        private var events: Events.AsyncIterator?
        private var reconnect = ReconnectPlan()

        init(remote: RemoteLocks, prefix: String, silenceLimit: Duration) {
            self.remote = remote
            self.prefix = prefix
            self.silenceLimit = silenceLimit
        }

        /// The next event, or ``Element/gap`` after a reconnect that may have
        /// lost some; never nil.
        /// - Throws: ``LockError`` (lockd refused the stream: no `read`
        ///   grant, a bad prefix; or could not be reached, or did not
        ///   answer, within the client's timeout when iteration began), or
        ///   `CancellationError`.
        public mutating func next() async throws -> Element? {
            while true {
                if events == nil {
                    let resumed = try await open()
                    if !resumed { return .gap }
                }
                do {
                    if let event = try await events?.next() {
                        reconnect.saw(id: event.id, retry: event.retry)
                        if let decoded = LockEvent(event) { return .event(decoded) }
                        continue
                    }
                } catch {
                    // The connection failed or went silent mid-stream: reopened below.
                }
                // A stream's body ends (nil) also when the task is cancelled.
                try Task.checkCancellation()
                events = nil
                reconnect.streamEnded()
            }
        }

        /// Opens a stream: the first within the client's timeout, later ones
        /// after the plan's delay and for as long as it takes (each attempt
        /// within the client's timeout). Answers false when this is a
        /// reopening and lockd did not replay what was missed.
        private mutating func open() async throws -> Bool {
            guard reconnect.hasOpened else {
                let (body, _) = try await StreamSilence.$limit.withValue(silenceLimit) { [remote, prefix] in
                    try await remote.retrying(until: .now + remote.timeout) { deadline in
                        try await remote.events(prefix: prefix, lastEventID: nil, until: deadline)
                    }
                }
                events = body.asDecodedServerSentEvents().makeAsyncIterator()
                reconnect.opened()
                return true
            }
            var retryAfter: Duration?
            while true {
                try await Task.sleep(for: reconnect.delay(retryAfter: retryAfter))
                do {
                    let (body, resumed) = try await StreamSilence.$limit.withValue(silenceLimit) { [remote, prefix, reconnect] in
                        try await remote.events(prefix: prefix, lastEventID: reconnect.lastEventID, until: .now + remote.timeout)
                    }
                    events = body.asDecodedServerSentEvents().makeAsyncIterator()
                    reconnect.opened()
                    return resumed
                } catch let error as LockError where error.isRetryable {
                    retryAfter = error.retryAfter
                }
            }
        }
    }
}

extension LockClient {
    /// What happens to the leases of names starting with `prefix`, on every
    /// lockd that shares the store, as it happens: acquired, renewed,
    /// released, expired and lost (force-released) leases — across lockd
    /// restarts, rolling deploys and dropped connections, as etcd's watch
    /// does, with ``LockEvents/Element/gap`` where events may have been missed.
    ///
    /// ```swift
    /// for try await case .event(let event) in locks.events(prefix: "orders:") {
    ///     print(event.kind, event.name, event.fence, event.owner ?? "-")
    /// }
    /// ```
    ///
    /// A reader that keeps a picture of the locks reads it with
    /// ``list(prefix:pageSize:)`` before it starts and again at each `.gap`
    /// (see ``LockEvents/Element``).
    ///
    /// Needs `read` on the names (with auth on, events of other names are
    /// left out). Over ``SocketTransport`` (the default) events arrive as
    /// lockd sends them, a lockd that accepts the connection but does not
    /// answer counts as unreachable after the client's timeout, and a stream
    /// silent for 45 s (three of lockd's keep-alive intervals) is reopened;
    /// a transport that buffers whole bodies (URLSession's) delivers events
    /// only when a stream ends.
    ///
    /// - Parameter prefix: Only names that start with this; empty for all.
    public func events(prefix: String = "") -> LockEvents {
        LockEvents(remote: remote, prefix: prefix)
    }
}
