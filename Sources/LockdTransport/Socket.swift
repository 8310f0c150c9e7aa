import CLockdSystem

#if canImport(Glibc)
import Glibc
#endif

/// A non-blocking stream socket's descriptor; every libc socket call of the
/// transport lives here.
///
/// A `Socket` does not own its descriptor: whoever opened it calls ``close()``
/// once, after deregistering it from its loop.
public struct Socket: Sendable, Hashable {
    /// The file descriptor.
    public let fd: Int32

    /// Wraps an open descriptor.
    public init(fd: Int32) { self.fd = fd }

    /// What a non-blocking read produced.
    public enum ReadResult: Sendable, Equatable {
        /// This many bytes were read (more than zero).
        case bytes(Int)
        /// Nothing to read now; wait for readability.
        case wouldBlock
        /// The peer closed its sending half.
        case endOfFile
        /// The read failed with this errno (the connection is broken).
        case failed(Int32)
    }

    /// What a non-blocking write produced.
    public enum WriteResult: Sendable, Equatable {
        /// This many bytes were written (possibly fewer than offered).
        case bytes(Int)
        /// The send buffer is full; wait for writability.
        case wouldBlock
        /// The write failed with this errno (the connection is broken).
        case failed(Int32)
    }

    /// Opens a listening socket on `address` with `SO_REUSEADDR` (and
    /// `SO_REUSEPORT` when asked, so each loop may own a listener).
    /// - Throws: ``TransportError`` naming the call that failed.
    public static func listen(on address: SocketAddress, backlog: Int32 = 1024, reusePort: Bool = false) throws -> Socket {
        let fd = clockd_socket(address.family)
        guard fd >= 0 else { throw TransportError("socket", code: clockd_errno()) }
        let socket = Socket(fd: fd)
        do {
            try socket.setOption(SOL_SOCKET, SO_REUSEADDR, 1)
            if reusePort { try socket.setOption(SOL_SOCKET, SO_REUSEPORT, 1) }
            if case .ipv6 = address { try socket.setOption(Int32(IPPROTO_IPV6), IPV6_V6ONLY, 1) }
            try address.withSockAddr { pointer, length in
                guard bind(fd, pointer, length) == 0 else { throw TransportError("bind(\(address))", code: clockd_errno()) }
            }
            guard Glibc.listen(fd, backlog) == 0 else { throw TransportError("listen", code: clockd_errno()) }
        } catch {
            socket.close()
            throw error
        }
        return socket
    }

    /// Starts connecting to `address`; the socket becomes writable when the
    /// connection is made or has failed (then see ``pendingError()``).
    /// - Throws: ``TransportError`` when the attempt fails at once.
    public static func connect(to address: SocketAddress) throws -> Socket {
        let fd = clockd_socket(address.family)
        guard fd >= 0 else { throw TransportError("socket", code: clockd_errno()) }
        let socket = Socket(fd: fd)
        let result = address.withSockAddr { Glibc.connect(fd, $0, $1) }
        if result != 0 {
            let code = clockd_errno()
            guard code == EINPROGRESS || code == EINTR else {
                socket.close()
                throw TransportError("connect(\(address))", code: code)
            }
        }
        socket.setNoDelay()
        return socket
    }

    /// Accepts one pending connection as a non-blocking socket, or nil when
    /// none is pending.
    /// - Throws: ``TransportError`` for failures other than "try again"
    ///   (`EMFILE` among them: the caller should back off).
    public func accept() throws -> Socket? {
        while true {
            let fd = clockd_accept(self.fd)
            if fd >= 0 { return Socket(fd: fd) }
            let code = clockd_errno()
            switch code {
            case EINTR, ECONNABORTED: continue
            case EAGAIN, EWOULDBLOCK: return nil
            default: throw TransportError("accept", code: code)
            }
        }
    }

    /// Reads up to `count` bytes into `buffer`.
    public func read(into buffer: UnsafeMutableRawPointer, count: Int) -> ReadResult {
        while true {
            let result = clockd_read(fd, buffer, count)
            if result > 0 { return .bytes(result) }
            if result == 0 { return .endOfFile }
            let code = clockd_errno()
            switch code {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return .wouldBlock
            default: return .failed(code)
            }
        }
    }

    /// Sends bytes without raising SIGPIPE.
    public func write(_ buffer: UnsafeRawBufferPointer) -> WriteResult {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return .bytes(0) }
        while true {
            let result = clockd_send(fd, base, buffer.count, CLOCKD_MSG_NOSIGNAL)
            if result >= 0 { return .bytes(result) }
            let code = clockd_errno()
            switch code {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return .wouldBlock
            default: return .failed(code)
            }
        }
    }

    /// Disables Nagle's algorithm so small responses leave at once.
    public func setNoDelay() {
        try? setOption(Int32(IPPROTO_TCP), TCP_NODELAY, 1)
    }

    /// The error a non-blocking connect ended with (0 when it succeeded).
    public func pendingError() -> Int32 {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &value, &length) == 0 else { return clockd_errno() }
        return value
    }

    /// The address the socket is bound to (to learn the port after binding port 0).
    /// - Throws: ``TransportError`` when the kernel does not say.
    public func localAddress() throws -> SocketAddress {
        try address("getsockname") { getsockname(fd, $0, $1) }
    }

    /// The address of the connected peer.
    /// - Throws: ``TransportError`` when the socket is not connected.
    public func remoteAddress() throws -> SocketAddress {
        try address("getpeername") { getpeername(fd, $0, $1) }
    }

    private func address(
        _ operation: String,
        _ call: (UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) -> Int32
    ) throws -> SocketAddress {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { call($0, &length) }
        }
        guard result == 0 else { throw TransportError(operation, code: clockd_errno()) }
        let family = Int32(storage.ss_family)
        return try withUnsafePointer(to: &storage) { pointer in
            switch family {
            case AF_INET: return .ipv4(UnsafeRawPointer(pointer).load(as: sockaddr_in.self))
            case AF_INET6: return .ipv6(UnsafeRawPointer(pointer).load(as: sockaddr_in6.self))
            default: throw TransportError(operation, code: EAFNOSUPPORT)
            }
        }
    }

    /// Whether the peer has closed the connection, or at least its sending
    /// half (a reset counts too), though its end-of-file is not read yet:
    /// one `poll`, which neither reads nor waits. False when the kernel
    /// does not say.
    public func peerHasClosed() -> Bool {
        clockd_peer_closed(fd) == 1
    }

    /// Stops further sends; the peer reads end-of-file after what was sent.
    public func shutdownWrite() {
        _ = Glibc.shutdown(fd, Int32(SHUT_WR))
    }

    /// Closes the descriptor.
    public func close() {
        _ = Glibc.close(fd)
    }

    private func setOption(_ level: Int32, _ name: Int32, _ value: Int32) throws {
        var value = value
        guard setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
            throw TransportError("setsockopt", code: clockd_errno())
        }
    }
}
