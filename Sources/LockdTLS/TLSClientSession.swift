import COpenSSL

#if canImport(Glibc)
import Glibc
#endif

/// One TLS client connection's cryptography, without I/O: ciphertext that
/// arrived from the server goes in with ``receive(_:)``, plaintext comes out
/// of ``read(into:count:)``; plaintext to send goes in with ``write(_:)``,
/// and the ciphertext to put on the wire comes out of ``takeOutput(into:)``.
///
/// The owner moves the bytes between the session and its non-blocking
/// socket, so the socket stays the owner's (written with `MSG_NOSIGNAL`, read
/// once per readiness event) and the session can be driven by any event loop.
/// Not thread-safe: one owner, one thread at a time.
///
/// ```swift
/// let session = try TLSClientSession(context: context, serverName: "redis.internal")
/// _ = session.handshake()              // queues the ClientHello
/// session.takeOutput(into: &outbound)  // … write `outbound` to the socket
/// ```
public final class TLSClientSession {
    /// How far the handshake got.
    public enum HandshakeProgress: Equatable, Sendable {
        /// Finished: the server is verified and application data may flow.
        case done
        /// Waiting for more ciphertext from the server (send the output first).
        case needsInput
        /// Failed; the connection must be closed.
        case failed(TLSError)
    }

    /// What a read of plaintext produced.
    public enum ReadResult: Equatable, Sendable {
        /// This many bytes of plaintext (more than zero).
        case bytes(Int)
        /// No whole record is buffered: feed more ciphertext.
        case needsInput
        /// The server ended the TLS session (close_notify).
        case closed
        /// The stream is corrupt or was tampered with; close the connection.
        case failed(TLSError)
    }

    private let ssl: OpaquePointer
    /// Ciphertext from the server, read by OpenSSL (owned by `ssl`).
    private let input: OpaquePointer
    /// Ciphertext for the server, written by OpenSSL (owned by `ssl`).
    private let output: OpaquePointer
    /// The name the server's certificate must carry.
    private let serverName: String

    /// Starts a client session that will verify `serverName` (or the
    /// context's ``TLSClientConfiguration/serverName`` when set).
    /// - Throws: ``TLSError`` when OpenSSL cannot allocate the session.
    public init(context: TLSClientContext, serverName: String) throws(TLSError) {
        ERR_clear_error()
        guard let ssl = SSL_new(context.context) else { throw TLSError.fromQueue("cannot create a TLS session") }
        guard let input = BIO_new(BIO_s_mem()) else {
            SSL_free(ssl)
            throw TLSError.fromQueue("cannot create TLS buffers")
        }
        guard let output = BIO_new(BIO_s_mem()) else {
            BIO_free(input)
            SSL_free(ssl)
            throw TLSError.fromQueue("cannot create TLS buffers")
        }
        // An empty input buffer means "more to come", not end of file.
        _ = lockd_bio_set_mem_eof_return(input, -1)
        SSL_set_bio(ssl, input, output)
        SSL_set_connect_state(ssl)
        let name = context.configuration.serverName ?? serverName
        self.ssl = ssl
        self.input = input
        self.output = output
        self.serverName = name
        if Self.isIPAddress(name) {
            // No SNI for addresses (RFC 6066); the certificate must list the address.
            guard X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name) == 1 else {
                throw TLSError.fromQueue("cannot verify the address '\(name)'")
            }
        } else {
            guard lockd_ssl_set_server_name(ssl, name) == 1, SSL_set1_host(ssl, name) == 1 else {
                throw TLSError.fromQueue("cannot verify the name '\(name)'")
            }
        }
    }

    deinit {
        SSL_free(ssl)
    }

    /// Advances the handshake with the ciphertext received so far.
    public func handshake() -> HandshakeProgress {
        ERR_clear_error()
        let result = SSL_do_handshake(ssl)
        if result == 1 { return .done }
        let code = SSL_get_error(ssl, result)
        if code == SSL_ERROR_WANT_READ { return .needsInput }
        let verification = SSL_get_verify_result(ssl)
        if verification != X509_V_OK {
            ERR_clear_error()
            let reason = String(cString: X509_verify_cert_error_string(verification))
            return .failed(TLSError("the server's certificate is not trusted for '\(serverName)': \(reason)"))
        }
        return .failed(TLSError.fromQueue("the TLS handshake failed"))
    }

    /// Hands OpenSSL ciphertext that arrived from the server.
    public func receive(_ ciphertext: UnsafeRawBufferPointer) {
        guard let base = ciphertext.baseAddress, ciphertext.count > 0 else { return }
        // A memory buffer grows as needed: the write takes every byte.
        _ = BIO_write(input, base, Int32(clamping: ciphertext.count))
    }

    /// Decrypts buffered ciphertext into `buffer`.
    public func read(into buffer: UnsafeMutableRawPointer, count: Int) -> ReadResult {
        ERR_clear_error()
        let result = SSL_read(ssl, buffer, Int32(clamping: count))
        if result > 0 { return .bytes(Int(result)) }
        switch SSL_get_error(ssl, result) {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE: return .needsInput
        case SSL_ERROR_ZERO_RETURN: return .closed
        default: return .failed(TLSError.fromQueue("reading from the TLS stream failed"))
        }
    }

    /// Encrypts plaintext; the ciphertext waits in ``takeOutput(into:)``.
    /// - Returns: how many bytes were taken (a prefix, at least one record's worth), or the failure.
    public func write(_ plaintext: UnsafeRawBufferPointer) -> Result<Int, TLSError> {
        guard let base = plaintext.baseAddress, plaintext.count > 0 else { return .success(0) }
        ERR_clear_error()
        let result = SSL_write(ssl, base, Int32(clamping: plaintext.count))
        if result > 0 { return .success(Int(result)) }
        return .failure(TLSError.fromQueue("writing to the TLS stream failed"))
    }

    /// Whether ciphertext waits to be sent.
    public var hasOutput: Bool { BIO_ctrl_pending(output) > 0 }

    /// Moves the ciphertext waiting to be sent to the end of `buffer`.
    public func takeOutput(into buffer: inout [UInt8]) {
        let pending = Int(BIO_ctrl_pending(output))
        guard pending > 0 else { return }
        buffer += [UInt8](unsafeUninitializedCapacity: pending) { bytes, initialized in
            initialized = max(0, Int(BIO_read(output, bytes.baseAddress, Int32(clamping: pending))))
        }
    }

    private static func isIPAddress(_ name: String) -> Bool {
        var address = in6_addr()
        return inet_pton(AF_INET, name, &address) == 1 || inet_pton(AF_INET6, name, &address) == 1
    }
}
