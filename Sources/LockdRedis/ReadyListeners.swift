import Synchronization

/// Who wants to hear that a connection became ready: each listener is an
/// `AsyncStream` that keeps at most one unread signal (several reconnections
/// read late are one).
final class ReadyListeners: Sendable {
    private let listeners = Mutex<(next: UInt64, all: [UInt64: AsyncStream<Void>.Continuation])>((0, [:]))

    /// A new listener's stream; it ends when the caller stops iterating.
    func stream() -> AsyncStream<Void> {
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let id = listeners.withLock { listeners in
            listeners.next += 1
            listeners.all[listeners.next] = continuation
            return listeners.next
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.listeners.withLock { $0.all.removeValue(forKey: id) }
        }
        return stream
    }

    /// Signals every listener (any thread).
    func notify() {
        for continuation in listeners.withLock({ Array($0.all.values) }) { continuation.yield() }
    }

    /// Ends every listener's stream.
    func finish() {
        for continuation in listeners.withLock({ Array($0.all.values) }) { continuation.finish() }
    }
}
