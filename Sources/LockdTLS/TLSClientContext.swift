import COpenSSL

/// Settings shared by every TLS connection of a client: trusted authorities,
/// the client certificate, protocol versions. Reading the files happens
/// once, here, so a wrong path fails at start-up rather than at each connect.
///
/// ```swift
/// let context = try TLSClientContext(configuration: TLSClientConfiguration(caFile: "/etc/lockd/ca.pem"))
/// let session = try TLSSession(client: context, serverName: "redis.internal")
/// ```
public final class TLSClientContext: @unchecked Sendable {
    // Safe to share: the SSL_CTX is configured completely in `init` and never
    // changed afterwards; OpenSSL documents a context that is no longer
    // modified as safe to use from many threads at once for SSL_new.
    let context: OpaquePointer

    /// The configuration the context was made from.
    public let configuration: TLSClientConfiguration

    /// Loads the trusted authorities and the client certificate.
    /// - Throws: ``TLSError`` naming the file that could not be used.
    public init(configuration: TLSClientConfiguration) throws(TLSError) {
        ERR_clear_error()
        guard let context = SSL_CTX_new(TLS_client_method()) else { throw TLSError.fromQueue("cannot create a TLS context") }
        self.context = context
        self.configuration = configuration
        // Older versions are broken; Redis and every managed Redis speak 1.2 or 1.3.
        guard lockd_ssl_ctx_set_min_tls12(context) == 1 else { throw TLSError.fromQueue("cannot require TLS 1.2 or later") }
        // The connection hands over whatever part of its buffer it has, and
        // that buffer moves as it grows.
        _ = lockd_ssl_ctx_set_partial_writes(context)
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        // No passphrase: OpenSSL would otherwise prompt on the terminal for an encrypted key.
        SSL_CTX_set_default_passwd_cb(context) { _, _, _, _ in 0 }
        if let caFile = configuration.caFile {
            guard SSL_CTX_load_verify_locations(context, caFile, nil) == 1 else {
                throw TLSError.fromQueue("cannot read the CA file '\(caFile)'")
            }
        } else {
            guard SSL_CTX_set_default_verify_paths(context) == 1 else {
                throw TLSError.fromQueue("cannot load the system's trusted certificate authorities")
            }
        }
        switch (configuration.certificateFile, configuration.privateKeyFile) {
        case (nil, nil):
            break
        case (let certificate?, let key?):
            guard SSL_CTX_use_certificate_chain_file(context, certificate) == 1 else {
                throw TLSError.fromQueue("cannot read the client certificate file '\(certificate)'")
            }
            guard SSL_CTX_use_PrivateKey_file(context, key, SSL_FILETYPE_PEM) == 1 else {
                // The reason names the parse error or a key that belongs to
                // another certificate, never the key itself.
                throw TLSError.fromQueue(
                    "cannot use the private key file '\(key)' with the certificate '\(certificate)' (an encrypted key is not supported)")
            }
        default:
            throw TLSError("a client certificate needs both a certificate file and a private key file")
        }
        if !configuration.applicationProtocols.isEmpty {
            // ALPN's wire format: each name prefixed by its length.
            var list: [UInt8] = []
            for name in configuration.applicationProtocols where (1...255).contains(name.utf8.count) {
                list.append(UInt8(name.utf8.count))
                list += name.utf8
            }
            // Inverted: 0 is success.
            guard lockd_ssl_ctx_offer_protocols(context, list, UInt32(list.count)) == 0 else {
                throw TLSError.fromQueue("cannot offer the protocols \(configuration.applicationProtocols)")
            }
        }
    }

    deinit {
        SSL_CTX_free(context)
    }
}
