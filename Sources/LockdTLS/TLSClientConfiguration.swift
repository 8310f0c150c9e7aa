/// How a TLS client proves who it talks to, and who it is.
///
/// The defaults verify the server's certificate against the system's trusted
/// certificate authorities and its name against the host connected to, as
/// `redis-cli --tls` and every browser do.
///
/// ```swift
/// var tls = TLSClientConfiguration()
/// tls.caFile = "/etc/lockd/redis-ca.pem"          // a private CA
/// tls.certificateFile = "/etc/lockd/client.pem"   // for servers that require client certificates
/// tls.privateKeyFile = "/etc/lockd/client.key"
/// ```
public struct TLSClientConfiguration: Sendable, Hashable {
    /// PEM file of the certificate authorities to trust instead of the
    /// system's; nil trusts the system's store (`/etc/ssl/certs`).
    public var caFile: String?
    /// PEM file of the client's certificate (and its chain), for servers that
    /// require one (Redis does by default: `tls-auth-clients yes`).
    public var certificateFile: String?
    /// PEM file of the client certificate's private key. Never logged.
    public var privateKeyFile: String?
    /// The name to ask for (SNI) and to verify in the server's certificate;
    /// nil uses the host connected to. An IP address is matched against the
    /// certificate's IP address entries.
    public var serverName: String?
    /// Protocols to offer through ALPN, most wanted first (`["http/1.1"]`);
    /// empty offers none.
    public var applicationProtocols: [String]

    /// A configuration that trusts the system's certificate authorities and presents no client certificate.
    public init(
        caFile: String? = nil, certificateFile: String? = nil, privateKeyFile: String? = nil, serverName: String? = nil,
        applicationProtocols: [String] = []
    ) {
        self.caFile = caFile
        self.certificateFile = certificateFile
        self.privateKeyFile = privateKeyFile
        self.serverName = serverName
        self.applicationProtocols = applicationProtocols
    }
}
