import Foundation
import LockbenchCore
import LockdTransport
import Synchronization

/// lockbench's `--event-streams`: `GET /events` streams held open beside
/// the lock cycle, each counting the events it reads and how long after
/// their `at` they arrived.
final class EventStreams: Sendable {
    private struct State {
        var stats = EventStreamStats()
        /// Monotonic ns: events read inside it are counted.
        var window: Range<UInt64> = 0..<0
        var waitingToOpen = 0
        var opened: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())
    private let streams: [EventStreamConnection]

    /// `count` streams of `prefix`, spread over `loops`, not yet opened.
    init(count: Int, prefix: String, target: BenchTarget, address: SocketAddress, tls: StreamSocket.TLS?, authToken: String?,
         loops: [EventLoop]) {
        let path = target.basePath + "/events?prefix=" + prefix
        let authorization = authToken.map { "Authorization: Bearer \($0)\r\n" } ?? ""
        // HTTP/1.0: the body is the bare stream, ended by the close.
        let request = Array("GET \(path) HTTP/1.0\r\nHost: \(target.hostHeader)\r\n\(authorization)Accept: text/event-stream\r\n\r\n".utf8)
        var streams: [EventStreamConnection] = []
        for index in 0..<count {
            streams.append(EventStreamConnection(loop: loops[index % loops.count], address: address, tls: tls, request: request))
        }
        self.streams = streams
        for stream in streams { stream.book = self }
    }

    /// Opens every stream; returns once each has its response head (or failed).
    func open() async {
        await withCheckedContinuation { continuation in
            state.withLock {
                $0.waitingToOpen = streams.count
                $0.opened = continuation
            }
            for stream in streams { stream.loop.execute { stream.connect() } }
            if streams.isEmpty { settled() }
        }
    }

    /// Counts events read from now until `deadline` (monotonic ns).
    func measure(until deadline: UInt64) {
        state.withLock { $0.window = MonotonicClock.now()..<deadline }
    }

    /// Closes every stream and returns what they read in the window.
    func stop() -> EventStreamStats {
        for stream in streams { stream.loop.execute { stream.close() } }
        return state.withLock { $0.stats }
    }

    /// A stream has its head or failed.
    fileprivate func settled(opened: Bool = true) {
        let continuation = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if !opened { state.stats.ended += 1 }
            state.waitingToOpen -= 1
            guard state.waitingToOpen <= 0 else { return nil }
            defer { state.opened = nil }
            return state.opened
        }
        continuation?.resume()
    }

    fileprivate func received(_ times: [Int64], unreadable: Int) {
        let now = Date().timeIntervalSince1970 * 1_000
        let monotonic = MonotonicClock.now()
        state.withLock { state in
            guard state.window.contains(monotonic) else { return }
            for at in times { state.stats.received(atMs: at, nowMs: now) }
            state.stats.unreadable += unreadable
        }
    }

    fileprivate func ended() {
        state.withLock { $0.stats.ended += 1 }
    }
}

/// One event stream's connection.
private final class EventStreamConnection: StreamSocketDelegate, @unchecked Sendable {
    // Safe to share: after `init` (and `book`, set once before any use),
    // every field is touched only on `loop`'s thread — `connect` and `close`
    // are sent there with `execute`, and the stream calls its delegate there.
    let loop: EventLoop
    private let address: SocketAddress
    private let tls: StreamSocket.TLS?
    private let request: [UInt8]
    weak var book: EventStreams?
    private var stream: StreamSocket?
    private var parser = EventStreamParser()
    private var settled = false

    init(loop: EventLoop, address: SocketAddress, tls: StreamSocket.TLS?, request: [UInt8]) {
        self.loop = loop
        self.address = address
        self.tls = tls
        self.request = request
    }

    func connect() {
        do {
            stream = try StreamSocket.connect(to: address, on: loop, tls: tls, delegate: self)
        } catch {
            settle(opened: false)
        }
    }

    func close() {
        stream?.close()
        stream = nil
    }

    private func settle(opened: Bool) {
        guard !settled else { return }
        settled = true
        book?.settled(opened: opened)
    }

    func streamOpened(_ stream: StreamSocket) {
        stream.queueOutput { $0 += request }
        if case .failure = stream.flush() { settle(opened: false) }
    }

    func streamReceived(_ stream: StreamSocket, _ input: UnsafeRawBufferPointer) -> Int {
        let unreadableBefore = parser.unreadable
        let times = parser.consume(input)
        if let status = parser.status, !settled {
            settle(opened: status == 200)
            if status != 200 { close() }
        }
        if !times.isEmpty || parser.unreadable != unreadableBefore {
            book?.received(times, unreadable: parser.unreadable - unreadableBefore)
        }
        return input.count
    }

    func streamClosed(_ stream: StreamSocket, _ reason: StreamCloseReason) {
        self.stream = nil
        if settled { book?.ended() } else { settle(opened: false) }
    }
}
