/// What a TLS server presents, and whom it lets in.
///
/// ```swift
/// var tls = TLSServerConfiguration(certificateFile: "/etc/lockd/tls.crt", privateKeyFile: "/etc/lockd/tls.key")
/// tls.clientCAFile = "/etc/lockd/clients-ca.pem"   // mTLS: every client shows a certificate this CA signed
/// ```
public struct TLSServerConfiguration: Sendable, Hashable {
    /// PEM file of the server's certificate, followed by any intermediates.
    public var certificateFile: String
    /// PEM file of the certificate's private key (unencrypted). Never logged.
    public var privateKeyFile: String
    /// PEM file of the certificate authorities whose client certificates are
    /// accepted; when set, a client without such a certificate is refused.
    public var clientCAFile: String?

    /// A configuration that presents `certificateFile` and asks clients for no certificate.
    public init(certificateFile: String, privateKeyFile: String, clientCAFile: String? = nil) {
        self.certificateFile = certificateFile
        self.privateKeyFile = privateKeyFile
        self.clientCAFile = clientCAFile
    }
}
