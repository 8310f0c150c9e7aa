import Synchronization

/// Messages for one call of ``RedisClient/subscribe(to:kind:)``, as an async sequence.
///
/// The sequence ends when the subscription is cancelled (``cancel()``, the
/// consuming task being cancelled, or the subscription being released) or
/// the client shuts down. It buffers up to 10 000 undelivered events, then
/// drops the oldest and yields `.resubscribed` after the newest (messages
/// were lost, as after a reconnect).
///
/// ```swift
/// let subscription = try await client.subscribe(to: ["lock:orders"])
/// for await event in subscription {
///     switch event {
///     case .message(let message): print(message.string)
///     case .resubscribed: break   // reconnected: messages may have been missed
///     }
/// }
/// ```
public final class RedisSubscription: AsyncSequence, Sendable {
    /// What a subscription yields.
    public enum Event: Sendable, Hashable {
        /// A message published to a subscribed channel.
        case message(RedisPubSubMessage)
        /// The connection was re-established and the subscription renewed;
        /// messages published in between were lost, so re-check whatever
        /// state the messages announce.
        case resubscribed
    }

    public typealias Element = Event

    private let stream: AsyncStream<Event>
    private let onCancel: @Sendable () -> Void
    private let cancelled = Atomic<Bool>(false)

    init(stream: AsyncStream<Event>, onCancel: @escaping @Sendable () -> Void) {
        self.stream = stream
        self.onCancel = onCancel
    }

    deinit {
        cancel()
    }

    /// Unsubscribes (when no other subscription wants the same names) and ends the sequence.
    public func cancel() {
        guard !cancelled.exchange(true, ordering: .relaxed) else { return }
        onCancel()
    }

    /// Creates an iterator; it keeps the subscription alive while it exists.
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: stream.makeAsyncIterator(), owner: self)
    }

    /// Iterates a subscription's events.
    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: AsyncStream<Event>.Iterator
        let owner: RedisSubscription

        /// The next event, or nil once the subscription has ended.
        public mutating func next() async -> Event? {
            await base.next(isolation: #isolation)
        }
    }
}
