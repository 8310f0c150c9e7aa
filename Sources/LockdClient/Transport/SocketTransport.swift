import Foundation
public import HTTPTypes
public import OpenAPIRuntime
import LockdTLS

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
/// only after a whole answer. Bodies are read whole (lockd's are small) and
/// never compressed: it sends no `Accept-Encoding`. Failures to reach lockd
/// are thrown as `URLError` (`cannotConnectToHost`, `cannotFindHost`,
/// `secureConnectionFailed`, `networkConnectionLost`, `badServerResponse`),
/// which ``LockClient`` retries, or not, as it does URLSession's.
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
    /// - Throws: `URLError(.secureConnectionFailed)` when `caFile` cannot be read.
    public init(caFile: String, maxIdleConnectionsPerHost: Int = 64) throws {
        let context: TLSClientContext
        do {
            context = try TLSClientContext(configuration: TLSClientConfiguration(caFile: caFile, applicationProtocols: ["http/1.1"]))
        } catch {
            throw URLError(.secureConnectionFailed, userInfo: [NSLocalizedDescriptionKey: "cannot load \(caFile): \(error.message)"])
        }
        pools = ConnectionPools(caFile: caFile, maxIdle: maxIdleConnectionsPerHost, tlsContext: context)
    }

    /// Sends `request` to `baseURL`'s server and returns its whole answer.
    public func send(_ request: HTTPRequest, body: HTTPBody?, baseURL: URL, operationID: String) async throws -> (HTTPResponse, HTTPBody?) {
        let scheme = baseURL.scheme?.lowercased()
        guard scheme == "http" || scheme == "https", let host = baseURL.host, !host.isEmpty else {
            throw URLError(.unsupportedURL)
        }
        let secure = scheme == "https"
        guard let port = UInt16(exactly: baseURL.port ?? (secure ? 443 : 80)) else { throw URLError(.badURL) }
        var bodyBytes: [UInt8] = []
        if let body { bodyBytes = try await [UInt8](collecting: body, upTo: ResponseParser.maxBodyBytes) }
        let message = Self.encode(request, body: bodyBytes, basePath: baseURL.path, host: host, port: baseURL.port)
        do {
            let pool = try pools.pool(for: .init(secure: secure, host: host, port: port))
            while true {
                let (connection, reused) = try pool.checkOut()
                let response: RawResponse
                do {
                    response = try await connection.exchange(message)
                } catch ConnectionFailure.lost(_, answered: false) where reused && !Task.isCancelled {
                    continue  // the server had closed the idle connection: try a fresh one
                }
                pool.checkIn(connection)
                return Self.decode(response)
            }
        } catch let failure as ConnectionFailure {
            throw Self.urlError(failure)
        }
    }

    /// The request's bytes: head and body.
    private static func encode(_ request: HTTPRequest, body: [UInt8], basePath: String, host: String, port: Int?) -> [UInt8] {
        let prefix = basePath.hasSuffix("/") ? String(basePath.dropLast()) : basePath
        let hostName = host.contains(":") ? "[\(host)]" : host
        var head = "\(request.method.rawValue) \(prefix)\(request.path ?? "/") HTTP/1.1\r\nHost: \(hostName)"
        if let port { head += ":\(port)" }
        head += "\r\n"
        for field in request.headerFields where field.name != .contentLength {
            head += "\(field.name.rawName): \(field.value)\r\n"
        }
        if !body.isEmpty || request.method == .post || request.method == .put || request.method == .patch {
            head += "Content-Length: \(body.count)\r\n"
        }
        head += "\r\n"
        return Array(head.utf8) + body
    }

    private static func decode(_ raw: RawResponse) -> (HTTPResponse, HTTPBody?) {
        var fields = HTTPFields()
        for (name, value) in raw.fields {
            if let fieldName = HTTPField.Name(name) { fields.append(HTTPField(name: fieldName, value: value)) }
        }
        return (HTTPResponse(status: .init(code: raw.status), headerFields: fields), HTTPBody(raw.body))
    }

    /// The `URLError` that ``LockError``'s retry rules know.
    private static func urlError(_ failure: ConnectionFailure) -> URLError {
        let code: URLError.Code
        let reason: String
        switch failure {
        case .connect(let text): (code, reason) = (text.hasPrefix("cannot resolve") ? .cannotFindHost : .cannotConnectToHost, text)
        case .handshake(let text): (code, reason) = (.secureConnectionFailed, text)
        case .lost(let text, _): (code, reason) = (.networkConnectionLost, text)
        case .malformed(let text): (code, reason) = (.badServerResponse, text)
        }
        return URLError(code, userInfo: [NSLocalizedDescriptionKey: reason])
    }
}
