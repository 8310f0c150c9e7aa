/// Why a request got no usable answer from lockd: what ``LockError/transport(_:)``
/// carries when ``SocketTransport`` could not reach lockd, or when a call's
/// timeout ran out first.
///
/// ```swift
/// } catch LockError.transport(let failure as TransportFailure) where failure.kind == .tls {
///     print("check the CA file: \(failure)")
/// }
/// ```
public struct TransportFailure: Error, Sendable, CustomStringConvertible {
    /// What kind of failure, for code that branches on it.
    public enum Kind: Sendable, Hashable {
        /// The URL cannot work: not http or https, no host, a bad port.
        case badURL
        /// The host name has no address.
        case cannotFindHost
        /// The connection was refused or the host is unreachable.
        case cannotConnect
        /// TLS failed: the server's certificate is not trusted, or the CA file cannot be read.
        case tls
        /// The connection broke before the whole answer arrived.
        case connectionLost
        /// The answer is not an HTTP/1.1 response the SDK can read.
        case badResponse
        /// The call's timeout passed before an answer arrived.
        case timedOut
    }

    /// What kind of failure.
    public let kind: Kind
    /// What happened, for logs: never a lease token.
    public let description: String

    init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }

    /// Failures of the client's own settings, which no retry can fix.
    var isPermanent: Bool { kind == .badURL || kind == .tls }
}
