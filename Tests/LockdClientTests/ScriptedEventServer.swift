import Foundation
import LockdTestSupport
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A loopback stand-in for lockd's `GET /events` that plays a script on each
/// connection it accepts — answer a head and some events, then fall silent,
/// or never answer at all — and records each request and whether the client
/// closed the connection. For tests of a server that stops talking without
/// closing, which a real lockd does only when frozen.
///
/// ```swift
/// let server = try ScriptedEventServer { index, connection in
///     connection.send(ScriptedEventServer.head(resumed: nil) + ScriptedEventServer.event(id: "7", name: "a"))
/// }   // then silent, until the client closes or `stop()`
/// ```
///
/// One thread per connection (blocking reads): a handful of connections, not load.
final class ScriptedEventServer: Sendable {
    let port: UInt16
    private let listener: Int32
    private let script: @Sendable (Int, ScriptedConnection) -> Void
    private let accepted = Mutex<[ScriptedConnection]>([])

    /// `http://127.0.0.1:PORT`.
    var url: URL { URL(string: "http://127.0.0.1:\(port)")! }

    /// Listens on a free loopback port. On each connection (numbered from 0)
    /// it reads the request head, runs `script`, then holds the connection
    /// open and silent until the client closes it.
    init(_ script: @escaping @Sendable (_ index: Int, _ connection: ScriptedConnection) -> Void) throws {
        (listener, port) = try listenOnLoopback()
        self.script = script
        Thread.detachNewThread { [self] in accepting() }
    }

    /// The connections accepted so far, in order.
    var connections: [ScriptedConnection] { accepted.withLock { $0 } }

    /// Stops listening and ends every connection (not counted as the client closing).
    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        for connection in connections { connection.end() }
    }

    private func accepting() {
        while true {
            let fd = accept(listener, nil, nil)
            guard fd >= 0 else {
                if errno == EINTR { continue }
                close(listener)
                return
            }
            let connection = ScriptedConnection(fd: fd)
            let index = accepted.withLock { accepted in
                accepted.append(connection)
                return accepted.count - 1
            }
            Thread.detachNewThread { [script] in
                connection.readRequest()
                script(index, connection)
                connection.holdUntilClosed()
            }
        }
    }

    /// A response head for an event stream; `resumed` sets `Events-Resumed`.
    static func head(resumed: Bool?) -> String {
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n" + (resumed.map { "Events-Resumed: \($0)\r\n" } ?? "") + "\r\n"
    }

    /// An `acquired` event with SSE id `id` for the lock `name`.
    static func event(id: String, name: String) -> String {
        "id: \(id)\nevent: acquired\ndata: {\"name\":\"\(name)\",\"fence\":1,\"mode\":\"exclusive\",\"at\":\"2026-12-04T18:00:00Z\"}\n\n"
    }
}

/// One accepted connection of a ``ScriptedEventServer``.
final class ScriptedConnection: Sendable {
    private struct State {
        var request: String?
        var closedByClient = false
        var ended = false
    }

    private let fd: Int32
    private let state = Mutex(State())

    init(fd: Int32) { self.fd = fd }

    /// The request head the client sent (nil until it arrived whole).
    var request: String? { state.withLock { $0.request } }

    /// Whether the client closed the connection (the server never does until ``ScriptedEventServer/stop()``).
    var closedByClient: Bool { state.withLock { $0.closedByClient } }

    /// Writes `text`: whether it went out whole (not when the client is gone).
    @discardableResult
    func send(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        return state.withLock { state in
            guard !state.ended else { return false }
            return bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } == bytes.count
        }
    }

    /// Sends a keep-alive comment every 100 ms until the client is gone.
    func keepAlive() {
        while send(": keep-alive\n\n") { Thread.sleep(forTimeInterval: 0.1) }
    }

    fileprivate func readRequest() {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while received.firstRange(of: Array("\r\n\r\n".utf8)) == nil {
            let count = recv(fd, &buffer, buffer.count, 0)
            guard count > 0 else { return }
            received += buffer[..<count]
        }
        state.withLock { $0.request = String(decoding: received, as: UTF8.self) }
    }

    /// Reads (and drops) until the client closes, then closes the descriptor.
    fileprivate func holdUntilClosed() {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while recv(fd, &buffer, buffer.count, 0) > 0 {}
        state.withLock { state in
            if !state.ended { state.closedByClient = true }
            state.ended = true
            close(fd)
        }
    }

    /// Ends the connection from the server's side (not counted as the client closing).
    func end() {
        state.withLock { state in
            guard !state.ended else { return }
            state.ended = true
            shutdown(fd, Int32(SHUT_RDWR))
        }
    }
}
