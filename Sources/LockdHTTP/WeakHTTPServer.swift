import Synchronization

/// A weak reference to an ``HTTPServer``, for what the server's own responder
/// reads of it, such as its open connections for the metrics page.
///
/// The responder is made before the server and lives inside it, so it can
/// only reach the server through something filled in afterwards; were that
/// reference strong, server and responder would keep each other — and the
/// server's event loops, with their descriptors — alive after shutdown.
///
/// ```swift
/// let served = WeakHTTPServer()
/// let responder = makeResponder(openConnections: { served.openConnectionCount })
/// let server = HTTPServer(configuration: configuration, responder: responder, eventLoopGroup: loops, logger: logger)
/// served.set(server)
/// ```
public final class WeakHTTPServer: Sendable {
    private struct Reference {
        weak var server: HTTPServer?
    }

    private let reference = Mutex(Reference())

    /// An empty reference; ``set(_:)`` fills it in.
    public init() {}

    /// Points this reference at `server`.
    public func set(_ server: HTTPServer) {
        reference.withLock { $0.server = server }
    }

    /// The server's open connections; 0 before ``set(_:)`` and after the server is gone.
    public var openConnectionCount: Int {
        reference.withLock { $0.server }?.openConnectionCount ?? 0
    }
}
