import LockdTLS
import LockdTransport
import Synchronization

/// The keep-alive connections to one server (scheme, host and port): idle ones
/// wait here between exchanges, at most `maxIdle` of them.
///
/// Only idle connections are counted: every exchange in flight holds its own
/// connection, so renewals never queue behind acquires that wait.
final class ConnectionPool: Sendable {
    private let loop: EventLoop
    private let host: String
    private let port: UInt16
    private let tls: StreamSocket.TLS?
    private let maxIdle: Int
    private let idle = Mutex<[PooledConnection]>([])

    init(loop: EventLoop, host: String, port: UInt16, tls: StreamSocket.TLS?, maxIdle: Int) {
        self.loop = loop
        self.host = host
        self.port = port
        self.tls = tls
        self.maxIdle = maxIdle
    }

    /// An idle connection (`reused`), or else a new one, not yet open.
    ///
    /// The host's address is looked up on the global executor: `getaddrinfo`
    /// blocks, and the caller may be running on the loop, which must go on
    /// serving every other connection meanwhile.
    /// - Throws: ``ConnectionFailure/connect(_:)`` when the host has no address.
    nonisolated(nonsending) func checkOut() async throws -> (connection: PooledConnection, reused: Bool) {
        if let connection = checkOutIdle() { return (connection, true) }
        let address = try await resolve()
        return (PooledConnection(loop: loop, address: address, tls: tls), false)
    }

    /// An idle connection, if one is usable: ``checkOut()`` without a suspension.
    func checkOutIdle() -> PooledConnection? {
        while let connection = idle.withLock({ $0.popLast() }) {
            if connection.isUsable { return connection }
        }
        return nil
    }

    /// Opens a connection of its own for a request whose answer streams
    /// (lockd's event stream), and returns once the answer's head arrived.
    /// - Parameters:
    ///   - deadline: When to stop waiting for the head (``ConnectionFailure/timedOut``).
    ///   - silenceLimit: How long the body may go without a byte before it fails.
    func openStream(_ request: [UInt8], deadline: ContinuousClock.Instant?, silenceLimit: Duration?) async throws -> StreamingConnection.Response {
        let address = try await resolve()
        return try await StreamingConnection(loop: loop, address: address, tls: tls, deadline: deadline, silenceLimit: silenceLimit).open(request)
    }

    /// The server's address, looked up off the loop (resolution may block).
    private func resolve() async throws -> SocketAddress {
        let (host, port) = (host, port)
        do {
            return try await withTaskExecutorPreference(globalConcurrentExecutor) {
                try SocketAddress.resolve(host: host, port: port)
            }
        } catch {
            throw ConnectionFailure.connect("cannot resolve \(host): \(error)")
        }
    }

    /// Takes `connection` back after a whole exchange; closes it when it cannot be reused or the pool is full.
    func checkIn(_ connection: PooledConnection) {
        guard connection.isUsable else { return }
        let kept = idle.withLock { idle in
            guard idle.count < maxIdle else { return false }
            idle.append(connection)
            return true
        }
        if !kept { connection.close() }
    }
}

/// The pools of one ``SocketTransport``, one for each server it has talked to.
final class ConnectionPools: Sendable {
    /// Which server: scheme, host and port.
    struct Key: Hashable {
        var secure: Bool
        var host: String
        var port: UInt16
    }

    /// The event loop every connection of the SDK runs on, started on first use.
    private static let sharedLoop = Result { try EventLoop.spawn(name: "lockd-client") }

    private let caFile: String?
    private let maxIdle: Int
    private let pools = Mutex<[Key: ConnectionPool]>([:])
    /// The TLS context, made on the first https request (loading the CAs takes time).
    private let tlsContext = Mutex<TLSClientContext?>(nil)

    init(caFile: String?, maxIdle: Int, tlsContext: TLSClientContext?) {
        self.caFile = caFile
        self.maxIdle = maxIdle
        self.tlsContext.withLock { $0 = tlsContext }
    }

    /// The shared loop, or nil if it could not start.
    var loop: EventLoop? { try? Self.sharedLoop.get() }

    /// The pool for `key`, made on first use.
    /// - Throws: ``ConnectionFailure`` when no loop could start or the CAs cannot be read.
    func pool(for key: Key) throws -> ConnectionPool {
        if let pool = pools.withLock({ $0[key] }) { return pool }
        let loop: EventLoop
        switch Self.sharedLoop {
        case .success(let shared): loop = shared
        case .failure(let error): throw ConnectionFailure.connect("cannot start the client's event loop: \(error)")
        }
        let tls = try key.secure ? StreamSocket.TLS.client(context(), serverName: key.host) : nil
        let made = ConnectionPool(loop: loop, host: key.host, port: key.port, tls: tls, maxIdle: maxIdle)
        return pools.withLock { pools in
            if let pool = pools[key] { return pool }
            pools[key] = made
            return made
        }
    }

    private func context() throws -> TLSClientContext {
        let result: Result<TLSClientContext, any Error> = tlsContext.withLock { context in
            if let context { return .success(context) }
            do {
                let made = try TLSClientContext(configuration: TLSClientConfiguration(caFile: caFile, applicationProtocols: ["http/1.1"]))
                context = made
                return .success(made)
            } catch {
                return .failure(error)
            }
        }
        switch result {
        case .success(let context): return context
        case .failure(let error): throw ConnectionFailure.handshake("cannot set up TLS: \(error)")
        }
    }
}
