import COpenSSL

#if canImport(Glibc)
import Glibc
#endif

/// One TLS connection's cryptography, client or server side, without I/O:
/// ciphertext that arrived from the peer goes in with ``receive(_:)``,
/// plaintext comes out of ``read(into:count:)``; plaintext to send goes in
/// with ``write(_:)``, and the ciphertext to put on the wire comes out of
/// ``readOutput(into:count:)``.
///
/// The owner moves the bytes between the session and its non-blocking
/// socket, so the socket stays the owner's (written with `MSG_NOSIGNAL`, read
/// once per readiness event) and the session can be driven by any event loop.
/// Not thread-safe: one owner, one thread at a time.
///
/// ```swift
/// let session = try TLSSession(client: context, serverName: "redis.internal")
/// _ = session.handshake()              // queues the ClientHello
/// session.takeOutput(into: &outbound)  // … write `outbound` to the socket
/// ```
public final class TLSSession {
    /// How far the handshake got.
    public enum HandshakeProgress: Equatable, Sendable {
        /// Finished: the peer is verified and application data may flow.
        case done
        /// Waiting for more ciphertext from the peer (send the output first).
        case needsInput
        /// Failed; the connection must be closed (after sending the output, an alert).
        case failed(TLSError)
    }

    /// What a read of plaintext produced.
    public enum ReadResult: Equatable, Sendable {
        /// This many bytes of plaintext (more than zero).
        case bytes(Int)
        /// No whole record is buffered: feed more ciphertext.
        case needsInput
        /// The peer ended the TLS session (close_notify).
        case closed
        /// The stream is corrupt or was tampered with; close the connection.
        case failed(TLSError)
    }

    /// What a write of plaintext produced.
    public enum WriteResult: Equatable, Sendable {
        /// This many bytes were taken (a prefix, at least one record's worth).
        case bytes(Int)
        /// Nothing can be written until more ciphertext arrives from the peer.
        case needsInput
        /// The session is broken; close the connection.
        case failed(TLSError)
    }

    private let ssl: OpaquePointer
    /// Ciphertext from the peer, read by OpenSSL (owned by `ssl`).
    private let input: OpaquePointer
    /// Ciphertext for the peer, written by OpenSSL (owned by `ssl`).
    private let output: OpaquePointer
    /// The name the server's certificate must carry (client sessions only).
    private let serverName: String?

    /// Starts a client session that will verify `serverName` (or the
    /// context's ``TLSClientConfiguration/serverName`` when set).
    /// - Throws: ``TLSError`` when OpenSSL cannot allocate the session.
    public convenience init(client context: TLSClientContext, serverName: String) throws(TLSError) {
        let name = context.configuration.serverName ?? serverName
        try self.init(context: context.context, serverName: name)
        SSL_set_connect_state(ssl)
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

    /// Starts a server session that waits for a client's hello.
    /// - Throws: ``TLSError`` when OpenSSL cannot allocate the session.
    public convenience init(server context: TLSServerContext) throws(TLSError) {
        try self.init(context: context.context, serverName: nil)
        SSL_set_accept_state(ssl)
    }

    private init(context: OpaquePointer, serverName: String?) throws(TLSError) {
        ERR_clear_error()
        guard let ssl = SSL_new(context) else { throw TLSError.fromQueue("cannot create a TLS session") }
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
        self.ssl = ssl
        self.input = input
        self.output = output
        self.serverName = serverName
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
        // A memory buffer never fills, so "want write" only means: send the output.
        if code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE { return .needsInput }
        let verification = SSL_get_verify_result(ssl)
        if verification != X509_V_OK {
            ERR_clear_error()
            let reason = String(cString: X509_verify_cert_error_string(verification))
            if let serverName {
                return .failed(TLSError("the server's certificate is not trusted for '\(serverName)': \(reason)"))
            }
            return .failed(TLSError("the client's certificate is not trusted: \(reason)"))
        }
        return .failed(TLSError.fromQueue("the TLS handshake failed"))
    }

    /// Hands OpenSSL ciphertext that arrived from the peer.
    public func receive(_ ciphertext: UnsafeRawBufferPointer) {
        guard let base = ciphertext.baseAddress, ciphertext.count > 0 else { return }
        // A memory buffer grows as needed: the write takes every byte.
        _ = BIO_write(input, base, Int32(clamping: ciphertext.count))
    }

    /// Whether received ciphertext (or decrypted plaintext) waits inside
    /// OpenSSL: a ``read(into:count:)`` may return bytes without another
    /// ``receive(_:)``, and the socket's readiness will not say so.
    public var hasBufferedInput: Bool {
        BIO_ctrl_pending(input) > 0 || SSL_pending(ssl) > 0
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

    /// Encrypts plaintext; the ciphertext waits in ``readOutput(into:count:)``.
    public func write(_ plaintext: UnsafeRawBufferPointer) -> WriteResult {
        guard let base = plaintext.baseAddress, plaintext.count > 0 else { return .bytes(0) }
        ERR_clear_error()
        let result = SSL_write(ssl, base, Int32(clamping: plaintext.count))
        if result > 0 { return .bytes(Int(result)) }
        switch SSL_get_error(ssl, result) {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE: return .needsInput
        default: return .failed(TLSError.fromQueue("writing to the TLS stream failed"))
        }
    }

    /// Queues a close_notify alert (the TLS end of stream) as output.
    public func shutdown() {
        ERR_clear_error()
        _ = SSL_shutdown(ssl)
        ERR_clear_error()
    }

    /// How many bytes of ciphertext wait to be sent.
    public var outputCount: Int { Int(BIO_ctrl_pending(output)) }

    /// Whether ciphertext waits to be sent.
    public var hasOutput: Bool { outputCount > 0 }

    /// Moves up to `count` bytes of waiting ciphertext into `buffer`; returns how many.
    public func readOutput(into buffer: UnsafeMutableRawPointer, count: Int) -> Int {
        guard count > 0 else { return 0 }
        return max(0, Int(BIO_read(output, buffer, Int32(clamping: count))))
    }

    /// Moves the ciphertext waiting to be sent to the end of `buffer`.
    public func takeOutput(into buffer: inout [UInt8]) {
        let pending = outputCount
        guard pending > 0 else { return }
        let taken = [UInt8](unsafeUninitializedCapacity: pending) { bytes, initialized in
            initialized = bytes.baseAddress.map { readOutput(into: $0, count: pending) } ?? 0
        }
        if buffer.isEmpty { buffer = taken } else { buffer += taken }
    }

    /// The protocol both sides agreed on through ALPN (`"http/1.1"`), if any.
    public var negotiatedProtocol: String? {
        var name: UnsafePointer<UInt8>?
        var length: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &name, &length)
        guard let name, length > 0 else { return nil }
        return String(decoding: UnsafeBufferPointer(start: name, count: Int(length)), as: UTF8.self)
    }

    /// The protocol version in use, such as `"TLSv1.3"`.
    public var protocolVersion: String {
        String(cString: SSL_get_version(ssl))
    }

    /// Whether the peer presented a certificate (that was verified).
    public var hasPeerCertificate: Bool {
        guard let certificate = SSL_get1_peer_certificate(ssl) else { return false }
        X509_free(certificate)
        return true
    }

    private static func isIPAddress(_ name: String) -> Bool {
        var address = in6_addr()
        return inet_pton(AF_INET, name, &address) == 1 || inet_pton(AF_INET6, name, &address) == 1
    }
}
