#if canImport(Glibc)
import Glibc
#endif

/// A TCP socket listening on a free port of 127.0.0.1, for test servers that
/// accept with blocking calls on threads of their own (``TCPRelay``, fakes
/// that play a script).
/// - Returns: the listening descriptor (the caller closes it) and its port.
public func listenOnLoopback() throws -> (fd: Int32, port: UInt16) {
    let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard listener >= 0 else { throw TestFailure("socket: errno \(errno)") }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
            bind(listener, pointer, length) == 0 && listen(listener, 16) == 0 && getsockname(listener, pointer, &length) == 0
        }
    }
    guard bound else {
        let failure = TestFailure("listen on 127.0.0.1: errno \(errno)")
        close(listener)
        throw failure
    }
    return (listener, UInt16(bigEndian: address.sin_port))
}
