import Foundation
public import OpenAPIRuntime
import OpenAPIURLSession

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A client for a lockd service: take named locks for a bounded time, keep them,
/// give them back.
///
/// ```swift
/// let locks = LockClient(serverURL: URL(string: "http://127.0.0.1:7070")!)
/// if let lease = try await locks.tryAcquire("orders", ttl: .seconds(30), wait: .seconds(5)) {
///     // lease.fence goes along with every write to the protected resource
///     try await lease.release()
/// }
/// try await locks.withLock("orders", ttl: .seconds(30), wait: .seconds(5)) { lease in
///     // renewed in the background while this runs; lease.isLost tells if it was lost
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

    /// A client for the lockd at `serverURL`, over a URLSession shared by such clients.
    ///
    /// ```swift
    /// let locks = LockClient(serverURL: URL(string: "http://lockd.internal:7070")!, owner: "billing-worker-7")
    /// ```
    ///
    /// - Parameters:
    ///   - serverURL: lockd's base URL, e.g. `http://127.0.0.1:7070`.
    ///   - owner: A label for this client's leases (at most 256 bytes), or `nil`.
    ///   - timeout: How long one request may take beyond the time lockd is asked
    ///     to wait for a lock; then it fails with ``LockError/transport(_:)``.
    public init(serverURL: URL, owner: String? = nil, timeout: Duration = .seconds(30)) {
        self.init(serverURL: serverURL, session: Self.sharedSession, owner: owner, timeout: timeout)
    }

    /// A client for the lockd at `serverURL` over a URLSession you configure (proxies,
    /// TLS trust, connection limits).
    ///
    /// ```swift
    /// let configuration = URLSessionConfiguration.ephemeral
    /// configuration.timeoutIntervalForRequest = 120  // longer than any wait you ask for
    /// let locks = LockClient(serverURL: URL(string: "https://lockd.internal")!, session: URLSession(configuration: configuration))
    /// ```
    ///
    /// - Parameters:
    ///   - serverURL: lockd's base URL.
    ///   - session: The session every request goes through. Its
    ///     `timeoutIntervalForRequest` (60 s by default) must exceed the longest `wait`.
    ///   - owner: A label for this client's leases (at most 256 bytes), or `nil`.
    ///   - timeout: How long one request may take beyond the time lockd is asked to wait.
    public init(serverURL: URL, session: URLSession, owner: String? = nil, timeout: Duration = .seconds(30)) {
        self.init(
            serverURL: serverURL,
            transport: URLSessionTransport(configuration: .init(session: session)),
            owner: owner,
            timeout: timeout
        )
    }

    /// A client for the lockd at `serverURL` over any swift-openapi-runtime
    /// `ClientTransport`: one that adds headers or metrics around
    /// `URLSessionTransport`, or a test double.
    ///
    /// ```swift
    /// struct Traced: ClientTransport {
    ///     let inner = URLSessionTransport()
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
    ///   - transport: The HTTP transport. Cancelling a task must cancel its request
    ///     (URLSessionTransport does), so that lockd learns a waiter gave up; its own
    ///     timeouts must allow for the longest `wait`.
    ///   - owner: A label for this client's leases (at most 256 bytes), or `nil`.
    ///   - timeout: How long one request may take beyond the time lockd is asked to wait.
    public init(serverURL: URL, transport: any ClientTransport, owner: String? = nil, timeout: Duration = .seconds(30)) {
        let configuration = Configuration(dateTranscoder: .iso8601WithFractionalSeconds)
        self.owner = owner
        self.remote = RemoteLocks(
            client: Client(serverURL: serverURL, configuration: configuration, transport: transport),
            timeout: timeout
        )
    }

    /// One session for every client made without a transport: the requests'
    /// deadlines are the client's own (`timeout` plus the wait), so URLSession's
    /// idle timeout must not cut a long wait short.
    private static let sharedSession: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 24 * 60 * 60
        configuration.httpMaximumConnectionsPerHost = 64
        return URLSession(configuration: configuration)
    }()
}
