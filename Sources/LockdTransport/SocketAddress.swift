#if canImport(Glibc)
import Glibc
#endif

/// An IPv4 or IPv6 address and port.
///
/// ```swift
/// let address = try SocketAddress(parsing: "127.0.0.1:7070")
/// let local = try SocketAddress(parsing: "[::1]:0")
/// ```
public enum SocketAddress: Sendable, CustomStringConvertible {
    /// An IPv4 address.
    case ipv4(sockaddr_in)
    /// An IPv6 address.
    case ipv6(sockaddr_in6)

    /// Parses `HOST:PORT` where HOST is a numeric IPv4 address, a bracketed
    /// IPv6 address, or a name resolved through `getaddrinfo` (first answer).
    /// - Throws: ``SocketAddressError`` when the text is not such an address.
    public init(parsing text: String) throws {
        guard let colon = text.lastIndex(of: ":") else { throw SocketAddressError(text: text) }
        var host = String(text[..<colon])
        guard let port = UInt16(text[text.index(after: colon)...]) else { throw SocketAddressError(text: text) }
        if host.hasPrefix("["), host.hasSuffix("]") {
            host = String(host.dropFirst().dropLast())
        }
        self = try SocketAddress.resolve(host: host, port: port)
    }

    /// Resolves `host` (numeric or a name) to its first address.
    /// - Throws: ``SocketAddressError`` when the name does not resolve.
    public static func resolve(host: String, port: UInt16) throws -> SocketAddress {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard !host.isEmpty else {
            throw SocketAddressError(text: ":\(port)", reason: "no host before the port (0.0.0.0 is every interface, 127.0.0.1 this host only)")
        }
        let status = getaddrinfo(host, String(port), &hints, &result)
        guard status == 0, let first = result else {
            throw SocketAddressError(text: "\(host):\(port)", reason: "cannot resolve the host name '\(host)' (\(String(cString: gai_strerror(status))))")
        }
        defer { freeaddrinfo(result) }
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let current = entry {
            if let address = current.pointee.ai_addr {
                switch current.pointee.ai_family {
                case AF_INET:
                    return .ipv4(UnsafeRawPointer(address).load(as: sockaddr_in.self))
                case AF_INET6:
                    return .ipv6(UnsafeRawPointer(address).load(as: sockaddr_in6.self))
                default:
                    break
                }
            }
            entry = current.pointee.ai_next
        }
        throw SocketAddressError(text: "\(host):\(port)")
    }

    /// `AF_INET` or `AF_INET6`.
    public var family: Int32 {
        switch self {
        case .ipv4: AF_INET
        case .ipv6: AF_INET6
        }
    }

    /// The port number.
    public var port: UInt16 {
        switch self {
        case .ipv4(let address): UInt16(bigEndian: address.sin_port)
        case .ipv6(let address): UInt16(bigEndian: address.sin6_port)
        }
    }

    /// The host part as text, without brackets.
    public var host: String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        switch self {
        case .ipv4(var address):
            _ = inet_ntop(AF_INET, &address.sin_addr, &buffer, socklen_t(buffer.count))
        case .ipv6(var address):
            _ = inet_ntop(AF_INET6, &address.sin6_addr, &buffer, socklen_t(buffer.count))
        }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public var description: String {
        switch self {
        case .ipv4: "\(host):\(port)"
        case .ipv6: "[\(host)]:\(port)"
        }
    }

    /// Calls `body` with this address as a `sockaddr` pointer and its length.
    public func withSockAddr<Result>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws -> Result) rethrows -> Result {
        switch self {
        case .ipv4(var address):
            return try withUnsafePointer(to: &address) {
                try $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { try body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        case .ipv6(var address):
            return try withUnsafePointer(to: &address) {
                try $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { try body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        }
    }
}

/// Text that is not a usable `HOST:PORT` address: malformed, without a
/// host, or naming a host that does not resolve.
public struct SocketAddressError: Error, Sendable, CustomStringConvertible {
    /// The text that was given.
    public let text: String
    /// What is wrong, when more is known than that the text is not `HOST:PORT`.
    public let reason: String?

    /// Creates an error for `text`.
    public init(text: String, reason: String? = nil) {
        self.text = text
        self.reason = reason
    }

    public var description: String { reason.map { "\($0), in \(text)" } ?? "not a HOST:PORT address: \(text)" }
}
