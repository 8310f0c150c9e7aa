public import Foundation
public import OpenAPIRuntime
import LockdTransport

/// A client for a lockd service: take named locks for a bounded time, keep them,
/// give them back.
///
/// ```swift
/// let locks = LockClient(serverURL: URL(string: "http://127.0.0.1:7070")!)
/// // Waits until granted; renewed while the body runs; released when it returns,
/// // throws or is cancelled; the body is cancelled if the lease is lost.
/// try await locks.withLock("orders", ttl: .seconds(30)) { lease in
///     try await orders.settle(fence: lease.fence)   // the fence goes with every write
/// }
/// ```
///
/// Built on the client that swift-openapi-generator makes from lockd's
/// `openapi.yaml` (``Client``), which stays available for anything this type
/// does not cover. A `LockClient` is a cheap value; share one or make many.
public struct LockClient: Sendable {
    /// The owner label sent with every acquire, shown to whoever inspects the lock.
    public var owner: String?

    let remote: RemoteLocks

    /// A client for the lockd at `serverURL`, over a ``SocketTransport`` shared by such clients.
    ///
    /// ```swift
    /// let locks = LockClient(serverURL: URL(string: "http://lockd.internal:7070")!, owner: "billing-worker-7")
    /// ```
    ///
    /// Every request in flight holds its own keep-alive connection, so renewals
    /// never queue behind acquires that wait. For https it trusts the system's
    /// certificate authorities; for a private CA pass
    /// `SocketTransport(caFile:)` to ``init(serverURL:transport:owner:timeout:bearerToken:)``.
    ///
    /// - Parameters:
    ///   - serverURL: lockd's base URL, e.g. `http://127.0.0.1:7070`.
    ///   - owner: A label for this client's leases (at most 256 bytes), or `nil`.
    ///   - timeout: How long a call keeps retrying while lockd cannot be reached
    ///     or answers 503 (an acquire: at least this long, and for its whole
    ///     wait), and how long one request may take beyond the time lockd is
    ///     asked to wait; then the call fails with ``LockError/unavailable(retryAfter:)``
    ///     or ``LockError/transport(_:)``.
    ///   - bearerToken: The secret for a lockd that requires one (`--auth-file`),
    ///     sent as `Authorization: Bearer SECRET` with every request; `nil` sends none.
    public init(serverURL: URL, owner: String? = nil, timeout: Duration = .seconds(30), bearerToken: String? = nil) {
        self.init(serverURL: serverURL, transport: Self.sharedTransport, owner: owner, timeout: timeout, bearerToken: bearerToken)
    }

    /// A client for the lockd at `serverURL` over any swift-openapi-runtime
    /// `ClientTransport`: ``SocketTransport`` with a private CA,
    /// one that adds headers or metrics around another, or a test double.
    ///
    /// ```swift
    /// struct Traced: ClientTransport {
    ///     let inner = SocketTransport()
    ///     func send(_ request: HTTPRequest, body: HTTPBody?, baseURL: URL, operationID: String)
    ///         async throws -> (HTTPResponse, HTTPBody?) {
    ///         var request = request
    ///         request.headerFields[.init("traceparent")!] = currentTraceParent()
    ///         return try await inner.send(request, body: body, baseURL: baseURL, operationID: operationID)
    ///     }
    /// }
    /// let locks = LockClient(serverURL: URL(string: "http://lockd.internal:7070")!, transport: Traced())
    /// ```
    ///
    /// - Parameters:
    ///   - serverURL: lockd's base URL.
    ///   - transport: The HTTP transport for every request. Cancelling a task must
    ///     cancel its request (SocketTransport and URLSessionTransport do), so that lockd learns a
    ///     waiter gave up; its own timeouts must allow for the longest wait lockd
    ///     allows; and it must not make renewals wait for connections that
    ///     waiting acquires hold.
    ///   - owner: A label for this client's leases (at most 256 bytes), or `nil`.
    ///   - timeout: How long a call keeps retrying while lockd cannot serve it, and
    ///     how long one request may take beyond the time lockd is asked to wait.
    ///   - bearerToken: The secret sent as `Authorization: Bearer SECRET`, or `nil`.
    public init(
        serverURL: URL,
        transport: any ClientTransport,
        owner: String? = nil,
        timeout: Duration = .seconds(30),
        bearerToken: String? = nil
    ) {
        self.init(serverURL: serverURL, prompt: transport, waiting: transport, owner: owner, timeout: timeout, bearerToken: bearerToken)
    }

    init(
        serverURL: URL,
        prompt: any ClientTransport,
        waiting: any ClientTransport,
        owner: String?,
        timeout: Duration,
        bearerToken: String? = nil
    ) {
        let configuration = Self.configuration
        let middlewares: [any ClientMiddleware] = bearerToken.map { [BearerToken(secret: $0)] } ?? []
        self.owner = owner
        let promptClient = Client(serverURL: serverURL, configuration: configuration, transport: prompt, middlewares: middlewares)
        let waitingClient = Client(serverURL: serverURL, configuration: configuration, transport: waiting, middlewares: middlewares)
        var executor: EventLoop?
        var direct: (prompt: DirectLeaseCalls, waiting: DirectLeaseCalls)?
        if let prompt = prompt as? SocketTransport, let waiting = waiting as? SocketTransport {
            executor = prompt.executor
            func directCalls(_ transport: SocketTransport) -> DirectLeaseCalls? {
                DirectLeaseCalls(transport: transport, serverURL: serverURL, configuration: configuration, bearerToken: bearerToken)
            }
            if let prompt = directCalls(prompt), let waiting = directCalls(waiting) { direct = (prompt, waiting) }
        }
        self.remote = RemoteLocks(
            prompt: promptClient, waiting: waitingClient, timeout: timeout, waitLimit: WaitLimit(), executor: executor, direct: direct
        )
    }

    /// The generated client's configuration: dates as lockd writes them, and request
    /// bodies compact with their keys sorted. OpenAPIRuntime's default also
    /// pretty-prints them, which makes the body longer on the wire and costs lockd's
    /// body reader ~180 instructions an acquire (benchmarks/locks/CPU.md, session 26).
    static let configuration = Configuration(dateTranscoder: RFC3339DateTranscoder(), jsonEncodingOptions: [.sortedKeys])

    /// The transport of clients made without one: its connection pools are shared.
    private static let sharedTransport = SocketTransport()
}
