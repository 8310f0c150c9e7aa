import COpenSSL

#if canImport(Glibc)
import Glibc
#endif

/// Everything a TLS server's connections share: its certificate and key,
/// the client CAs it trusts, protocol versions, ALPN and the session cache.
/// Reading the files happens once, here: a missing or mismatched file fails
/// at start-up (or at a reload, which then keeps the old context).
///
/// ```swift
/// let context = try TLSServerContext(configuration: TLSServerConfiguration(
///     certificateFile: "/etc/lockd/tls.crt", privateKeyFile: "/etc/lockd/tls.key"))
/// let session = try TLSSession(server: context)
/// ```
public final class TLSServerContext: @unchecked Sendable {
    // Safe to share: the SSL_CTX is configured completely in `init` and never
    // changed afterwards (OpenSSL locks its session cache itself); OpenSSL
    // documents a context no longer being modified as safe for concurrent SSL_new.
    let context: OpaquePointer

    /// The configuration the context was made from.
    public let configuration: TLSServerConfiguration

    /// Loads the certificate, its key and the client CAs.
    /// - Throws: ``TLSError`` naming the file that could not be used and why.
    public init(configuration: TLSServerConfiguration) throws(TLSError) {
        ERR_clear_error()
        guard let context = SSL_CTX_new(TLS_server_method()) else { throw TLSError.fromQueue("cannot create a TLS context") }
        self.context = context
        self.configuration = configuration
        guard lockd_ssl_ctx_set_min_tls12(context) == 1 else { throw TLSError.fromQueue("cannot require TLS 1.2 or later") }
        _ = lockd_ssl_ctx_set_partial_writes(context)
        _ = lockd_ssl_ctx_set_server_modes(context)
        _ = lockd_ssl_ctx_set_server_options(context)
        lockd_ssl_ctx_use_tickets_only(context)
        lockd_ssl_ctx_select_http11(context)
        // Resumed sessions must belong to this service (and are required to
        // carry an id context once client certificates are verified).
        let sessionContext = Array("lockd".utf8)
        _ = SSL_CTX_set_session_id_context(context, sessionContext, UInt32(sessionContext.count))
        SSL_CTX_set_default_passwd_cb(context) { _, _, _, _ in 0 }
        let certificate = configuration.certificateFile
        let key = configuration.privateKeyFile
        try Self.checkReadable(certificate, "certificate file")
        try Self.checkReadable(key, "private key file")
        if let clientCAFile = configuration.clientCAFile { try Self.checkReadable(clientCAFile, "client CA file") }
        guard SSL_CTX_use_certificate_chain_file(context, certificate) == 1 else {
            throw TLSError.fromQueue("cannot read the certificate file '\(certificate)'", file: certificate)
        }
        guard SSL_CTX_use_PrivateKey_file(context, key, SSL_FILETYPE_PEM) == 1 else {
            // The reason names the parse error or the mismatch, never the key.
            throw TLSError.fromQueue(
                "cannot use the private key file '\(key)' with the certificate '\(certificate)' (an encrypted key is not supported)", file: key)
        }
        guard SSL_CTX_check_private_key(context) == 1 else {
            throw TLSError.fromQueue("the private key file '\(key)' does not belong to the certificate '\(certificate)'", file: key)
        }
        if let clientCAFile = configuration.clientCAFile {
            guard SSL_CTX_load_verify_locations(context, clientCAFile, nil) == 1 else {
                throw TLSError.fromQueue("cannot read the client CA file '\(clientCAFile)'", file: clientCAFile)
            }
            // Tells clients which CAs' certificates to present.
            guard let names = SSL_load_client_CA_file(clientCAFile) else {
                throw TLSError.fromQueue("cannot read the client CA file '\(clientCAFile)'", file: clientCAFile)
            }
            SSL_CTX_set_client_CA_list(context, names)
            SSL_CTX_set_verify(context, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nil)
        }
    }

    deinit {
        SSL_CTX_free(context)
    }

    /// Fails with the system's reason ("No such file or directory",
    /// "Permission denied") before OpenSSL reports it less plainly.
    private static func checkReadable(_ path: String, _ what: String) throws(TLSError) {
        guard let file = fopen(path, "r") else {
            throw TLSError("cannot read the \(what) '\(path)': \(String(cString: strerror(errno)))", file: path)
        }
        fclose(file)
    }
}
