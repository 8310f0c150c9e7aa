import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A loopback TCP relay in front of a server, for tests that drop a
/// client's connections without touching the server: ``cut()`` ends every
/// relayed connection (both sides see it closed), and while ``refusing``
/// new connections are closed as soon as they are accepted.
///
/// ```swift
/// let relay = try TCPRelay(to: lockd.url.port!)
/// let locks = LockClient(serverURL: relay.url)
/// relay.refusing = true; relay.cut()      // the client is cut off
/// relay.refusing = false                  // and may come back
/// ```
///
/// Each connection is pumped by two threads of its own (blocking reads):
/// meant for a handful of connections, not for load. Call ``stop()`` when done.
public final class TCPRelay: Sendable {
    /// The relay's port on 127.0.0.1.
    public let port: UInt16
    private let target: UInt16
    private let listener: Int32
    /// Open descriptors of relayed connections (both sides).
    private let open = Mutex<Set<Int32>>([])
    private let refuse = Atomic<Bool>(false)

    /// `http://127.0.0.1:PORT` of the relay.
    public var url: URL { URL(string: "http://127.0.0.1:\(port)")! }

    /// Whether new connections are closed at once.
    public var refusing: Bool {
        get { refuse.load(ordering: .relaxed) }
        set { refuse.store(newValue, ordering: .relaxed) }
    }

    /// Listens on a free loopback port and relays to `127.0.0.1:target`.
    public init(to target: Int) throws {
        self.target = UInt16(target)
        (listener, port) = try listenOnLoopback()
        Thread.detachNewThread { [self] in accepting() }
    }

    /// Ends every relayed connection.
    public func cut() {
        for fd in open.withLock({ $0 }) { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    /// Stops listening and ends every relayed connection.
    public func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        cut()
    }

    private func accepting() {
        while true {
            let client = accept(listener, nil, nil)
            guard client >= 0 else {
                if errno == EINTR { continue }
                close(listener)
                return
            }
            let upstream = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            var address = Self.loopback(port: target)
            let connected = upstream >= 0 && withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
            }
            guard connected, !refusing else {
                close(client)
                if upstream >= 0 { close(upstream) }
                continue
            }
            open.withLock { $0.formUnion([client, upstream]) }
            let finished = PumpCount()
            for (from, to) in [(client, upstream), (upstream, client)] {
                Thread.detachNewThread { [self] in
                    pump(from: from, to: to)
                    // The second pump to finish closes both sides.
                    if finished.value.add(1, ordering: .relaxed).newValue == 2 {
                        open.withLock { $0.subtract([client, upstream]) }
                        close(client)
                        close(upstream)
                    }
                }
            }
        }
    }

    /// Copies bytes until either side closes, then shuts both down.
    private func pump(from: Int32, to: Int32) {
        var buffer = [UInt8](repeating: 0, count: 16 << 10)
        copying: while true {
            let count = buffer.withUnsafeMutableBytes { read(from, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            var written = 0
            while written < count {
                let result = buffer.withUnsafeBytes { send(to, $0.baseAddress! + written, count - written, Int32(MSG_NOSIGNAL)) }
                if result < 0, errno == EINTR { continue }
                guard result > 0 else { break copying }
                written += result
            }
        }
        shutdown(from, Int32(SHUT_RDWR))
        shutdown(to, Int32(SHUT_RDWR))
    }

    private static func loopback(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }
}

/// How many of a connection's two pumps have finished.
private final class PumpCount: Sendable {
    let value = Atomic<Int>(0)
}
