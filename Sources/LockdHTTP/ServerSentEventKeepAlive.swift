import Synchronization

/// Sends a `: keep-alive` comment to every open ``ServerSentEventStream``
/// that shares it, from one task for all of them: an idle stream then
/// costs no task or timer of its own. The task runs only while some stream
/// is open.
///
/// ```swift
/// let keepAlive = ServerSentEventKeepAlive(interval: .milliseconds(50))   // tests
/// let stream = ServerSentEventStream(configuration: .init(keepAlive: keepAlive))
/// ```
public final class ServerSentEventKeepAlive: Sendable {
    /// Every 15 s, for every stream that names no other.
    public static let standard = ServerSentEventKeepAlive(interval: .seconds(15))

    /// Time between two comments.
    public let interval: Duration

    private struct State {
        /// Each open stream's beat; it answers false once its stream ended.
        var beats: [ObjectIdentifier: @Sendable () -> Bool] = [:]
        var ticking = false
    }

    private let state = Mutex(State())

    /// Creates a keep-alive sending every `interval`.
    public init(interval: Duration) {
        self.interval = interval
    }

    /// Starts beating for the stream `id`.
    func add(_ id: ObjectIdentifier, beat: @escaping @Sendable () -> Bool) {
        let start = state.withLock { state in
            state.beats[id] = beat
            defer { state.ticking = true }
            return !state.ticking
        }
        if start { Task { await tick() } }
    }

    /// Stops beating for the stream `id`.
    func remove(_ id: ObjectIdentifier) {
        _ = state.withLock { $0.beats.removeValue(forKey: id) }
    }

    private func tick() async {
        while true {
            try? await Task.sleep(for: interval)
            let beats = state.withLock { state -> [(ObjectIdentifier, @Sendable () -> Bool)]? in
                guard !state.beats.isEmpty else {
                    state.ticking = false
                    return nil
                }
                return Array(state.beats.map { ($0.key, $0.value) })
            }
            guard let beats else { return }
            for (id, beat) in beats where !beat() { remove(id) }
        }
    }
}
