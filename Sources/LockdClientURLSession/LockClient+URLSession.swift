public import Foundation
public import LockdClient
import OpenAPIURLSession

#if canImport(FoundationNetworking)
public import FoundationNetworking
#endif

// Apart from LockdClient so that programs that do not use URLSession (the
// `lockd` command-line client among them) do not load FoundationNetworking
// and libcurl at start-up.
extension LockClient {
    /// A client for the lockd at `serverURL` over a URLSession you configure (proxies,
    /// TLS trust, connection limits). From the `LockdClientURLSession` library
    /// (`import LockdClientURLSession`).
    ///
    /// ```swift
    /// let configuration = URLSessionConfiguration.ephemeral
    /// configuration.timeoutIntervalForRequest = 120       // longer than any wait lockd allows
    /// configuration.httpMaximumConnectionsPerHost = 256   // more than the waits you run at once
    /// let locks = LockClient(serverURL: URL(string: "https://lockd.internal")!, session: URLSession(configuration: configuration))
    /// ```
    ///
    /// - Parameters:
    ///   - serverURL: lockd's base URL.
    ///   - session: The session every request goes through. Its
    ///     `timeoutIntervalForRequest` (60 s by default) must exceed lockd's
    ///     `--max-wait-ms`, and since waiting acquires and renewals share it, its
    ///     `httpMaximumConnectionsPerHost` must exceed the number of waits you run
    ///     at once, or renewals queue behind them.
    ///   - owner: A label for this client's leases (at most 256 bytes), or `nil`.
    ///   - timeout: How long a call keeps retrying while lockd cannot serve it, and
    ///     how long one request may take beyond the time lockd is asked to wait.
    ///   - bearerToken: The secret sent as `Authorization: Bearer SECRET`, or `nil`.
    public init(
        serverURL: URL,
        session: URLSession,
        owner: String? = nil,
        timeout: Duration = .seconds(30),
        bearerToken: String? = nil
    ) {
        self.init(
            serverURL: serverURL,
            transport: URLSessionTransport(configuration: .init(session: session)),
            owner: owner,
            timeout: timeout,
            bearerToken: bearerToken
        )
    }
}
