import LockdTLS

/// The owner of a ``StreamSocket``: it hears what happened and decides what
/// to send. Every call comes on the socket's loop thread, from the socket's
/// own event handling — never from inside a method the owner called on the
/// socket, except ``StreamSocket/resumeInput()``, which offers buffered input.
public protocol StreamSocketDelegate: AnyObject {
    /// The stream is open: connected, and past the TLS handshake if it has TLS.
    func streamOpened(_ stream: StreamSocket)

    /// Input arrived. `input` is every byte not consumed yet, oldest first;
    /// it is valid only during the call.
    /// - Returns: how many leading bytes were consumed. The rest stays
    ///   buffered and is offered again, with whatever arrives next, on the
    ///   next read or ``StreamSocket/resumeInput()``.
    func streamReceived(_ stream: StreamSocket, _ input: UnsafeRawBufferPointer) -> Int

    /// Output that could not be sent at once has gone out; the socket takes more.
    func streamWritable(_ stream: StreamSocket)

    /// The deadline set with ``StreamSocket/setDeadline(_:)`` has passed.
    func streamDeadlinePassed(_ stream: StreamSocket)

    /// The stream closed by itself (the peer, an error, a timeout); called
    /// once, and not for ``StreamSocket/close()`` called by the owner.
    func streamClosed(_ stream: StreamSocket, _ reason: StreamCloseReason)

    /// For a TLS server stream whose peer spoke plaintext: bytes to send it
    /// in clear before closing (an HTTP server's "400: use https"), or nil.
    func plaintextRefusal(_ stream: StreamSocket) -> [UInt8]?
}

extension StreamSocketDelegate {
    /// Nothing to do by default.
    public func streamWritable(_ stream: StreamSocket) {}
    /// Nothing to do by default.
    public func streamDeadlinePassed(_ stream: StreamSocket) {}
    /// Nothing is sent by default.
    public func plaintextRefusal(_ stream: StreamSocket) -> [UInt8]? { nil }
}

/// Why a ``StreamSocket`` closed by itself.
public enum StreamCloseReason: Error, Sendable, Equatable, CustomStringConvertible {
    /// The connection could not be made.
    case connectFailed(TransportError)
    /// The peer closed its side (end of file, a TLS close_notify, or a hang-up
    /// while reading was paused).
    case peerClosed
    /// A read or a write failed with this error (a reset, say).
    case failed(TransportError)
    /// The TLS handshake failed (an untrusted certificate, no shared protocol
    /// version, a missing client certificate).
    case handshakeFailed(TLSError)
    /// The TLS handshake did not finish within the stream's handshake timeout.
    case handshakeTimedOut
    /// The TLS session broke after the handshake (a corrupt record, an alert).
    case tlsFailed(TLSError)
    /// A TLS server stream's peer spoke plaintext; it was refused.
    case plaintextRefused

    public var description: String {
        switch self {
        case .connectFailed(let error): "\(error)"
        case .peerClosed: "the peer closed the connection"
        case .failed(let error): "\(error)"
        case .handshakeFailed(let error): error.message
        case .handshakeTimedOut: "the TLS handshake did not finish in time"
        case .tlsFailed(let error): error.message
        case .plaintextRefused: "the peer spoke plaintext to a TLS port"
        }
    }
}
