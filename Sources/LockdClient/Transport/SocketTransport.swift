public import struct Foundation.URL
public import HTTPTypes
public import OpenAPIRuntime
import LockdTLS
import LockdTransport

/// The SDK's HTTP transport: HTTP/1.1 over lockd's own sockets (epoll, and
/// the system's OpenSSL for https), with a keep-alive connection pool per
/// server. ``LockClient`` uses one unless given another.
///
/// ```swift
/// // https with a private CA (URLSession on Linux trusts the system's CAs only):
/// let transport = try SocketTransport(caFile: "/etc/lockd/ca.pem")
/// let locks = LockClient(serverURL: URL(string: "https://lockd.internal")!, transport: transport)
/// ```
///
/// Cancelling a request's task closes its connection; a connection is reused
/// only after a whole answer. An event stream (`Accept: text/event-stream`)
/// gets a connection of its own and its body as it arrives; the wait for its
/// head is bounded like any request's, and ``LockEvents`` also has its body
/// fail after long silence, so that a frozen server is noticed. Other
/// bodies are read whole (lockd's are small) and never compressed: it sends
/// no `Accept-Encoding`. Failures to reach lockd
/// are thrown as ``TransportFailure``, which ``LockClient`` retries unless the
/// failure comes from its own settings (a bad URL, TLS trust).
public struct SocketTransport: ClientTransport {
    private let pools: ConnectionPools

    /// A transport that trusts the system's certificate authorities for https.
    /// - Parameter maxIdleConnectionsPerHost: How many idle keep-alive
    ///   connections to keep per server; requests in flight each hold their
    ///   own connection beyond these.
    public init(maxIdleConnectionsPerHost: Int = 64) {
        pools = ConnectionPools(caFile: nil, maxIdle: maxIdleConnectionsPerHost, tlsContext: nil)
    }

    /// A transport that trusts only the certificate authorities in `caFile` for https.
    /// - Parameters:
    ///   - caFile: A PEM file of the CAs to trust instead of the system's.
    ///   - maxIdleConnectionsPerHost: How many idle keep-alive connections to keep per server.
    /// - Throws: ``TransportFailure`` (``TransportFailure/Kind/tls``) when `caFile` cannot be read.
    public init(caFile: String, maxIdleConnectionsPerHost: Int = 64) throws {
        let context: TLSClientContext
        do {
            context = try TLSClientContext(configuration: TLSClientConfiguration(caFile: caFile, applicationProtocols: ["http/1.1"]))
        } catch {
            throw TransportFailure(.tls, "cannot load \(caFile): \(error.message)")
        }
        pools = ConnectionPools(caFile: caFile, maxIdle: maxIdleConnectionsPerHost, tlsContext: context)
    }

    /// The event loop every exchange runs on, for tasks that want to run beside it.
    var executor: EventLoop? { pools.loop }

    /// Sends `request` to `baseURL`'s server and returns its whole answer.
    public func send(_ request: HTTPRequest, body: HTTPBody?, baseURL: URL, operationID: String) async throws -> (HTTPResponse, HTTPBody?) {
        let target = try Target(baseURL)
        let deadline = RequestDeadline.current
        var bodyBytes: [UInt8] = []
        if let body { bodyBytes = try await [UInt8](collecting: body, upTo: ResponseParser.maxBodyBytes) }
        if request.headerFields[.accept]?.contains("text/event-stream") == true {
            return try await stream(request, target: target, deadline: deadline)
        }
        let message = Self.encode(request, body: bodyBytes, target: target)
        return Self.decode(try await exchange(message, with: target, deadline: deadline))
    }

    /// A request whose answer may be an event stream: on a connection of
    /// its own (never back in the pool), its body handed on as it arrives.
    /// `deadline` bounds the wait for the answer's head; the body then ends
    /// with a failure after ``StreamSilence/limit`` without a byte.
    private func stream(_ request: HTTPRequest, target: Target, deadline: ContinuousClock.Instant?) async throws -> (HTTPResponse, HTTPBody?) {
        var message = Self.encode(request, body: [], target: target)
        // HTTP/1.0: the body is the bare stream, ended by the close.
        if let space = message.firstIndex(of: UInt8(ascii: "\r")).map({ $0 - 1 }), message[space] == UInt8(ascii: "1") {
            message[space] = UInt8(ascii: "0")
        }
        let response: StreamingConnection.Response
        do {
            response = try await pools.pool(for: target.key).openStream(message, deadline: deadline, silenceLimit: StreamSilence.limit)
        } catch let failure as ConnectionFailure {
            throw Self.transportFailure(failure)
        }
        var fields = HTTPFields()
        for (name, value) in response.fields {
            if let fieldName = HTTPField.Name(name) { fields.append(HTTPField(name: fieldName, value: value)) }
        }
        let body = HTTPBody(response.body, length: .unknown, iterationBehavior: .single)
        return (HTTPResponse(status: .init(code: response.status), headerFields: fields), body)
    }

    /// Sends a whole request's bytes to `target` and returns the whole answer.
    /// - Parameter cancellable: Whether cancelling the task ends the exchange
    ///   (only `deadline` does otherwise).
    /// - Throws: ``TransportFailure``, or `CancellationError`.
    nonisolated(nonsending) func exchange(
        _ message: [UInt8], with target: Target, deadline: ContinuousClock.Instant?, cancellable: Bool = true
    ) async throws -> RawResponse {
        try await exchange(message, on: try pool(for: target), deadline: deadline, cancellable: cancellable)
    }

    /// The connection pool for `target`'s server.
    /// - Throws: ``TransportFailure`` when no loop could start or TLS cannot be set up.
    func pool(for target: Target) throws -> ConnectionPool {
        do {
            return try pools.pool(for: target.key)
        } catch let failure as ConnectionFailure {
            throw Self.transportFailure(failure)
        }
    }

    /// ``exchange(_:with:deadline:cancellable:)`` on a pool already looked up.
    nonisolated(nonsending) func exchange(
        _ message: [UInt8], on pool: ConnectionPool, deadline: ContinuousClock.Instant?, cancellable: Bool = true
    ) async throws -> RawResponse {
        do {
            while true {
                let connection: PooledConnection
                let reused: Bool
                if let idle = pool.checkOutIdle() {
                    (connection, reused) = (idle, true)  // without checkOut()'s suspension point
                } else {
                    (connection, reused) = try await pool.checkOut()
                }
                let response: RawResponse
                do {
                    response = try await connection.exchange(message, deadline: deadline, cancellable: cancellable)
                } catch ConnectionFailure.lost(_, answered: false) where reused && (!cancellable || !Task.isCancelled) {
                    continue  // the server had closed the idle connection: try a fresh one
                }
                pool.checkIn(connection)
                return response
            }
        } catch let failure as ConnectionFailure {
            throw Self.transportFailure(failure)
        }
    }

    /// The request's bytes: head and body.
    static func encode(_ request: HTTPRequest, body: [UInt8], target: Target) -> [UInt8] {
        var head = "\(request.method.rawValue) \(target.basePath)\(request.path ?? "/") HTTP/1.1\r\nHost: \(target.hostField)\r\n"
        for field in request.headerFields where field.name != .contentLength {
            head += "\(field.name.rawName): \(field.value)\r\n"
        }
        if !body.isEmpty || request.method == .post || request.method == .put || request.method == .patch {
            head += "Content-Length: \(body.count)\r\n"
        }
        head += "\r\n"
        return Array(head.utf8) + body
    }

    static func decode(_ raw: RawResponse) -> (HTTPResponse, HTTPBody?) {
        var fields = HTTPFields()
        for (name, value) in raw.fields {
            if let fieldName = HTTPField.Name(name) { fields.append(HTTPField(name: fieldName, value: value)) }
        }
        return (HTTPResponse(status: .init(code: raw.status), headerFields: fields), HTTPBody(raw.body))
    }

    /// The failure as ``LockError``'s retry rules know it.
    private static func transportFailure(_ failure: ConnectionFailure) -> TransportFailure {
        switch failure {
        case .connect(let text): TransportFailure(text.hasPrefix("cannot resolve") ? .cannotFindHost : .cannotConnect, text)
        case .handshake(let text): TransportFailure(.tls, text)
        case .lost(let text, _): TransportFailure(.connectionLost, text)
        case .malformed(let text): TransportFailure(.badResponse, text)
        case .timedOut: TransportFailure(.timedOut, "no answer within the call's timeout")
        }
    }
}

extension SocketTransport {
    /// Where requests for one base URL go: the server, and what the request head names.
    struct Target: Sendable {
        let key: ConnectionPools.Key
        /// The base URL's path without a trailing `/`, put before every request's path.
        let basePath: String
        /// The `Host` field's value.
        let hostField: String

        init(_ baseURL: URL) throws(TransportFailure) {
            let scheme = baseURL.scheme?.lowercased()
            guard scheme == "http" || scheme == "https", let host = baseURL.host, !host.isEmpty else {
                throw TransportFailure(.badURL, "not an http or https URL with a host")
            }
            let secure = scheme == "https"
            guard let port = UInt16(exactly: baseURL.port ?? (secure ? 443 : 80)) else { throw TransportFailure(.badURL, "bad port") }
            key = .init(secure: secure, host: host, port: port)
            let path = baseURL.path
            basePath = path.hasSuffix("/") ? String(path.dropLast()) : path
            let hostName = host.contains(":") ? "[\(host)]" : host
            hostField = baseURL.port.map { "\(hostName):\($0)" } ?? hostName
        }
    }
}
