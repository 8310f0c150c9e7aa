import LockdTransport
import RESP

/// The client's dedicated pub/sub connection and the subscriptions sharing it.
///
/// The connection is opened at the first subscription. Every name is
/// (un)subscribed on the wire only as its first subscription arrives or its
/// last one leaves; after a reconnect every confirmed name is subscribed
/// again and its subscriptions are told so.
final class RedisSubscriber: Sendable {
    typealias Sink = AsyncStream<RedisSubscription.Event>.Continuation

    private let connection: RedisConnection
    private let healthCheckInterval: Duration
    private var loop: EventLoop { connection.loop }
    private let table: LoopBound<State>

    private struct State {
        var subscriptions = SubscriptionTable<Sink>()
        var handlersInstalled = false
        var shutDown = false
        var nextInternalID: UInt64 = 1 << 63
    }

    init(connection: RedisConnection, healthCheckInterval: Duration) {
        self.connection = connection
        self.healthCheckInterval = healthCheckInterval
        self.table = LoopBound(State(), on: connection.loop)
    }

    func subscribe(to names: [String], kind: RedisSubscriptionKind, id: UInt64) async throws(RedisError) -> RedisSubscription {
        guard !names.isEmpty else { throw RedisError(.invalidConfiguration, message: "subscribe needs at least one name") }
        let (stream, sink) = AsyncStream.makeStream(of: RedisSubscription.Event.self, bufferingPolicy: .bufferingNewest(10_000))
        let result = await withTaskCancellationHandler {
            await withUnsafeContinuation { (continuation: RedisConnection.Continuation) in
                loop.execute { [self] in
                    guard !table.value.shutDown else {
                        continuation.resume(returning: .failure(RedisError(.shutDown, message: "the Redis client was shut down")))
                        return
                    }
                    installHandlers()
                    table.value.subscriptions.add(id: id, kind: kind, names: names, sink: sink)
                    let command = [RESPBulk.string(kind.subscribeCommand)] + names.map(RESPBulk.string)
                    connection.send(command, replies: names.count, id: id, waiter: .callback { [self] result in
                        if case .success = result { table.value.subscriptions.confirm(id: id) }
                        continuation.resume(returning: result)
                    })
                }
            }
        } onCancel: {
            loop.execute { [self] in connection.cancel(id: id) }
        }
        if case .failure(let error) = result {
            unsubscribe(id: id)
            throw error
        }
        let subscription = RedisSubscription(stream: stream) { [self] in unsubscribe(id: id) }
        sink.onTermination = { [weak self] _ in self?.unsubscribe(id: id) }
        return subscription
    }

    func shutdown() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            loop.execute { [self] in
                table.value.shutDown = true
                connection.shutdown()
                for sink in table.value.subscriptions.removeAll() { sink.finish() }
                continuation.resume()
            }
        }
    }

    /// Ends subscription `id` and unsubscribes names nobody else wants (any thread).
    private func unsubscribe(id: UInt64) {
        loop.execute { [self] in
            guard let (sink, names) = table.value.subscriptions.remove(id: id) else { return }
            sink.finish()
            for (kind, names) in names {
                send([.string(kind.unsubscribeCommand)] + names.map(RESPBulk.string), replies: names.count) { _ in }
            }
        }
    }

    private func installHandlers() {
        guard !table.value.handlersInstalled else { return }
        table.value.handlersInstalled = true
        connection.setHandlers(
            onReady: { [weak self] in self?.resubscribe() },
            onMessage: { [weak self] message, kind in self?.deliver(message, kind: kind) }
        )
        scheduleHealthCheck()
    }

    /// Pings while anyone listens: an unanswered PING times out and closes
    /// the connection, which then reconnects and resubscribes.
    private func scheduleHealthCheck() {
        loop.scheduleTimer(after: healthCheckInterval) { [weak self] in
            guard let self, !table.value.shutDown else { return }
            if !table.value.subscriptions.isEmpty {
                send(["PING"], replies: 1) { _ in }
            }
            scheduleHealthCheck()
        }
    }

    private func deliver(_ message: RedisPubSubMessage, kind: RedisSubscriptionKind) {
        for sink in table.value.subscriptions.sinks(for: message, kind: kind) {
            sink.yield(.message(message))
        }
    }

    /// After a (re)connect: subscribe confirmed names again, then tell their subscriptions.
    private func resubscribe() {
        for (kind, names) in table.value.subscriptions.confirmedNames where !names.isEmpty {
            send([.string(kind.subscribeCommand)] + names.map(RESPBulk.string), replies: names.count) { [self] result in
                guard case .success = result else { return }
                for sink in table.value.subscriptions.confirmedSinks(kind: kind) { sink.yield(.resubscribed) }
            }
        }
    }

    private func send(_ command: [RESPBulk], replies: Int, then body: @escaping (Result<RESPValue, RedisError>) -> Void) {
        table.value.nextInternalID &+= 1
        connection.send(command, replies: replies, id: table.value.nextInternalID, waiter: .callback(body))
    }
}
