import LockdTransport
import Logging

/// Accepts connections on the first loop and deals them out to every loop
/// in turn, turning away clients past the connection cap with a 503.
///
/// One listener rather than one per loop with `SO_REUSEPORT`: a reuse-port
/// group would let a second lockd (or a second server bound to port 0 in the
/// same process) share the port silently, and with keep-alive clients the
/// hand-off to another loop happens once per connection, not per request.
final class HTTPListener: EventHandler, @unchecked Sendable {
    // Safe to share: `socket`, `server`, `context` and `contexts` never change;
    // `paused` and `nextLoop` are touched only on the context's loop thread
    // (event and timer callbacks).
    let socket: Socket
    private let server: HTTPServer
    private let context: HTTPLoopContext
    private var paused = false
    private var nextLoop = 0

    /// Accepts per readiness event, so one busy listener cannot starve the loop.
    private static let acceptBatch = 64

    init(socket: Socket, server: HTTPServer, context: HTTPLoopContext) {
        self.socket = socket
        self.server = server
        self.context = context
    }

    func handleEvents(_ events: EpollEvents) {
        for _ in 0..<Self.acceptBatch {
            let client: Socket?
            do {
                client = try socket.accept()
            } catch {
                // EMFILE and friends: stop accepting briefly instead of spinning on a ready listener.
                server.logger.warning("accept failed; pausing for 100 ms", metadata: ["error": "\(error)"])
                pause()
                return
            }
            guard let client else { return }
            guard server.connectionOpened() else {
                turnAway(client)
                continue
            }
            client.setNoDelay()
            let target = server.contexts[nextLoop % server.contexts.count]
            nextLoop &+= 1
            if target === context {
                Self.adopt(client, server: server, context: target)
            } else {
                target.loop.execute { [server] in Self.adopt(client, server: server, context: target) }
            }
        }
    }

    /// Registers a new connection with its loop; runs on that loop.
    static func adopt(_ client: Socket, server: HTTPServer, context: HTTPLoopContext) {
        let stream = StreamSocket(accepted: client, on: context.loop, tls: server.tlsContext, options: server.streamOptions)
        let connection = HTTPConnection(stream: stream, server: server, context: context)
        context.connections[client.fd] = connection
        do {
            try stream.start(delegate: connection)
        } catch {
            context.connections[client.fd] = nil
            server.connectionClosed()
            return
        }
        // Counted before shutdown began but handed over after this loop's
        // drain sweep ran, the connection would hold shutdown for the whole
        // grace period (a TLS one still in its handshake, at least). The sweep
        // is queued on this loop after the `draining` store, so when it ran
        // first this load sees the store; when it runs later, it drains the
        // connection itself. Nothing is in flight yet: this closes it.
        if server.isDraining { connection.beginDrain() }
    }

    /// Stops accepting and closes the listening socket.
    func close() {
        context.loop.deregister(fd: socket.fd)
        socket.close()
        context.listener = nil
    }

    private func pause() {
        guard !paused else { return }
        paused = true
        try? context.loop.modify(fd: socket.fd, events: [])
        context.loop.scheduleTimer(after: .milliseconds(100)) { [self] in
            guard paused, context.listener === self else { return }
            paused = false
            try? context.loop.modify(fd: socket.fd, events: .readable)
        }
    }

    /// Answers a client over the connection cap with 503 and closes it (a
    /// TLS port just closes: a handshake is what an overloaded server cannot afford).
    private func turnAway(_ client: Socket) {
        guard server.configuration.tls == nil else { return client.close() }
        var bytes: [UInt8] = []
        let response = HTTPError.unavailable("the server has too many open connections; retry shortly").response
        let requestID = server.makeRequestID()
        HTTPResponseEncoder.encode(
            response,
            headOnly: false,
            keepAlive: false,
            requestVersion: .http1_1,
            date: context.dates.current(),
            requestID: requestID,
            into: &bytes
        )
        server.report(nil, nil, response, startedAt: 0, requestID: requestID, remoteAddress: try? client.remoteAddress())
        _ = bytes.withUnsafeBytes { client.write($0) }
        client.shutdownWrite()
        client.close()
    }
}
