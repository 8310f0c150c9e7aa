import Foundation
import LockdTLS

#if canImport(Glibc)
import Glibc
#endif

/// A blocking TCP client for tests that need exact bytes on the wire:
/// hostile requests, pipelining, half-finished requests, disconnects — in
/// plaintext, or over TLS (through LockdTLS's session, handshake included).
///
/// ```swift
/// let client = try RawHTTPClient(port: port)
/// try client.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
/// let response = try await client.readResponse()
/// #expect(response.status == 200)
/// let secure = try RawHTTPClient(port: tlsPort, tls: TLSClientConfiguration(caFile: ca))
/// ```
///
/// Waiting reads run on a Dispatch thread, not on Swift concurrency's pool:
/// that pool has one thread per core, and tests blocked in `poll` there
/// would stall every other test in the process.
public final class RawHTTPClient: @unchecked Sendable {
    // Safe to share: a client belongs to one test task, which awaits each
    // off-pool read before touching the client again, so no two threads use
    // `buffer` at once.
    /// The connected descriptor.
    public let fd: Int32
    private var buffer: [UInt8] = []
    /// The TLS session, when the client speaks TLS.
    public let tls: TLSSession?

    /// Connects to `host:port` over IPv4 (or IPv6 when `host` contains `:`)
    /// and, with `tls`, completes a TLS handshake (verifying `host`).
    /// - Throws: ``RawHTTPClientError`` when the connection or the handshake fails.
    /// - Parameter splitHello: send the TLS ClientHello in two writes, the
    ///   second starting with a capital letter (what a plaintext request
    ///   starts with), 50 ms apart: a server must tell a plaintext peer
    ///   apart by the first byte of the connection only.
    public init(
        host: String = "127.0.0.1", port: UInt16, tls: TLSClientConfiguration? = nil, handshakeTimeout: Duration = .seconds(5),
        splitHello: Bool = false
    ) throws {
        let family = host.contains(":") ? AF_INET6 : AF_INET
        // A local until connected: a class whose init throws once every
        // stored property is set still runs deinit, which would close the
        // descriptor a second time — by then perhaps another thread's socket.
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw RawHTTPClientError("socket: errno \(errno)") }
        let result: Int32
        if family == AF_INET {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            inet_pton(AF_INET, host, &address.sin_addr)
            result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        } else {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = port.bigEndian
            inet_pton(AF_INET6, host, &address.sin6_addr)
            result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        }
        guard result == 0 else {
            let code = errno
            Glibc.close(fd)
            throw RawHTTPClientError("connect to \(host):\(port): errno \(code)")
        }
        self.fd = fd
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        guard let tls else {
            self.tls = nil
            return
        }
        do {
            let session = try TLSSession(client: TLSClientContext(configuration: tls), serverName: host)
            self.tls = session
        } catch {
            self.tls = nil
            throw RawHTTPClientError("TLS: \(error.message)")
        }
        try handshake(until: ContinuousClock.now + handshakeTimeout, splitHello: splitHello)
    }

    deinit { Glibc.close(fd) }

    /// Sends all of `bytes` (encrypted, over TLS).
    /// - Throws: ``RawHTTPClientError`` when the connection is broken.
    public func send(_ bytes: [UInt8]) throws {
        guard let tls else { return try sendRaw(bytes) }
        var offset = 0
        while offset < bytes.count {
            switch bytes[offset...].withUnsafeBytes({ tls.write($0) }) {
            case .bytes(let count): offset += count
            case .needsInput: throw RawHTTPClientError("TLS wants input before it can write")
            case .failed(let error): throw RawHTTPClientError("TLS write: \(error.message)")
            }
            try sendTLSOutput()
        }
    }

    /// Sends `bytes` on the socket as they are, even on a TLS connection.
    public func sendRaw(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { throw RawHTTPClientError("send: errno \(errno)") }
            offset += sent
        }
    }

    private func sendTLSOutput() throws {
        guard let tls, tls.hasOutput else { return }
        var output: [UInt8] = []
        tls.takeOutput(into: &output)
        try sendRaw(output)
    }

    private func handshake(until deadline: ContinuousClock.Instant, splitHello: Bool) throws {
        guard let tls else { return }
        var split = splitHello
        while true {
            let progress = tls.handshake()
            if split, tls.hasOutput {
                split = false
                var hello: [UInt8] = []
                tls.takeOutput(into: &hello)
                let cut = hello.indices.dropFirst().first { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(hello[$0]) } ?? hello.count
                try sendRaw(Array(hello[..<cut]))
                usleep(50_000)
                try sendRaw(Array(hello[cut...]))
            }
            try sendTLSOutput()
            switch progress {
            case .done: return
            case .failed(let error): throw RawHTTPClientError("TLS handshake: \(error.message)")
            case .needsInput: break
            }
            guard let chunk = try receive(until: deadline) else { throw RawHTTPClientError("the server closed during the TLS handshake") }
            chunk.withUnsafeBytes { tls.receive($0) }
        }
    }

    /// Sends the UTF-8 bytes of `text`.
    public func send(_ text: String) throws { try send(Array(text.utf8)) }

    /// Holds what is sent from now on (`TCP_CORK`) until a shutdown
    /// (``shutdownWrite()`` or ``close()``), which sends it in one segment
    /// with the FIN: the server reads the requests and the hang-up together.
    /// - Throws: ``RawHTTPClientError`` when the kernel refuses the option.
    public func holdSendsUntilShutdown() throws {
        var cork: Int32 = 1
        guard setsockopt(fd, Int32(IPPROTO_TCP), TCP_CORK, &cork, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
            throw RawHTTPClientError("setsockopt(TCP_CORK): errno \(errno)")
        }
    }

    /// Closes the sending half; the server reads end-of-file.
    public func shutdownWrite() { _ = shutdown(fd, Int32(SHUT_WR)) }

    /// Closes the connection at once, discarding anything unread (the server may
    /// see a reset instead of end-of-file when data was pending).
    public func close() { _ = shutdown(fd, Int32(SHUT_RDWR)) }

    /// ``close()``, then waits until the server's end has the hang-up: its
    /// kernel acknowledged this end's FIN (this end is in `FIN_WAIT2`, or
    /// past it). From then on the server sees the hang-up whenever it looks
    /// (over loopback the FIN is usually there as `close` returns, but
    /// nothing promises it).
    /// - Throws: ``RawHTTPClientError`` when it is not acknowledged within `timeout`.
    public func closeAndAwaitAcknowledgement(timeout: Duration = .seconds(10)) async throws {
        close()
        try await offThePool { [fd] in
            let deadline = ContinuousClock.now + timeout
            // `tcp_info` starts with the state: FIN_WAIT2 5, TIME_WAIT 6, CLOSE 7.
            var info = [UInt8](repeating: 0, count: 256)
            while true {
                var length = socklen_t(info.count)
                guard getsockopt(fd, Int32(IPPROTO_TCP), TCP_INFO, &info, &length) == 0 else {
                    throw RawHTTPClientError("getsockopt(TCP_INFO): errno \(errno)")
                }
                if (5...7).contains(info[0]) { return }
                guard ContinuousClock.now < deadline else { throw RawHTTPClientError("the server never acknowledged the hang-up (TCP state \(info[0]))") }
                usleep(1_000)
            }
        }
    }

    /// Reads one response (skipping none: a `100 Continue` is returned as such).
    /// - Parameters:
    ///   - headOnly: The request was `HEAD`, so no body follows whatever `Content-Length` says.
    ///   - timeout: How long to wait for the whole response.
    /// - Throws: ``RawHTTPClientError`` on timeout, a closed connection or a malformed response.
    public func readResponse(headOnly: Bool = false, timeout: Duration = .seconds(5)) async throws -> RawHTTPResponse {
        try await offThePool { try self.blockingReadResponse(headOnly: headOnly, timeout: timeout) }
    }

    private func blockingReadResponse(headOnly: Bool, timeout: Duration) throws -> RawHTTPResponse {
        let deadline = ContinuousClock.now + timeout
        var headEnd = try fill(until: deadline) { $0.firstRange(of: [13, 10, 13, 10]).map(\.upperBound) }
        let head = String(decoding: buffer[..<(headEnd - 4)], as: UTF8.self)
        var lines = head.split(separator: "\r\n", omittingEmptySubsequences: false)
        let statusLine = lines.removeFirst()
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, let status = Int(parts[1]) else { throw RawHTTPClientError("bad status line: \(statusLine)") }
        let headers = lines.map { line -> (String, String) in
            let colon = line.firstIndex(of: ":") ?? line.endIndex
            return (String(line[..<colon]), String(line[colon...].dropFirst().drop { $0 == " " }))
        }
        var response = RawHTTPResponse(status: status, headers: headers, body: [])
        if !headOnly, response.header("Transfer-Encoding")?.lowercased() == "chunked" {
            buffer.removeFirst(headEnd)
            response.body = try readChunkedBody(until: deadline)
            return response
        }
        let length = (status < 200 || status == 204 || status == 304 || headOnly) ? 0 : Int(response.header("Content-Length") ?? "0") ?? 0
        headEnd = try fill(until: deadline) { $0.count >= headEnd + length ? headEnd + length : nil }
        response.body = Array(buffer[(headEnd - length)..<headEnd])
        buffer.removeFirst(headEnd)
        return response
    }

    /// A chunked body's chunks, up to and including its last (empty) chunk.
    private func readChunkedBody(until deadline: ContinuousClock.Instant) throws -> [UInt8] {
        var body: [UInt8] = []
        while true {
            let lineEnd = try fill(until: deadline) { $0.firstRange(of: [13, 10]).map(\.upperBound) }
            let sizeText = String(decoding: buffer[..<(lineEnd - 2)], as: UTF8.self).split(separator: ";").first ?? ""
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else {
                throw RawHTTPClientError("bad chunk size line: \(sizeText)")
            }
            let end = try fill(until: deadline) { $0.count >= lineEnd + size + 2 ? lineEnd + size + 2 : nil }
            body += buffer[lineEnd..<(lineEnd + size)]
            buffer.removeFirst(end)
            if size == 0 { return body }
        }
    }

    /// Reads until `marker` has arrived; returns everything up to and
    /// including it (for bodies that arrive in pieces).
    /// - Throws: ``RawHTTPClientError`` on timeout or when the server closes first.
    public func read(until marker: String, timeout: Duration = .seconds(5)) async throws -> [UInt8] {
        try await offThePool {
            let deadline = ContinuousClock.now + timeout
            let end = try self.fill(until: deadline) { $0.firstRange(of: Array(marker.utf8)).map(\.upperBound) }
            defer { self.buffer.removeFirst(end) }
            return Array(self.buffer[..<end])
        }
    }

    /// Reads until the server closes; returns everything received (after any buffered bytes).
    /// - Throws: ``RawHTTPClientError`` when the server keeps the connection open past `timeout`.
    public func readUntilClosed(timeout: Duration = .seconds(5)) async throws -> [UInt8] {
        try await offThePool { try self.blockingReadUntilClosed(timeout: timeout) }
    }

    private func blockingReadUntilClosed(timeout: Duration) throws -> [UInt8] {
        let deadline = ContinuousClock.now + timeout
        while try readSome(until: deadline) {}
        defer { buffer = [] }
        return buffer
    }

    /// Whether the server closed the connection within `timeout` (reading and dropping any bytes).
    public func closedByServer(within timeout: Duration = .seconds(5)) async -> Bool {
        (try? await readUntilClosed(timeout: timeout)) != nil
    }


    private func fill(until deadline: ContinuousClock.Instant, _ complete: ([UInt8]) -> Int?) throws -> Int {
        while true {
            if let end = complete(buffer) { return end }
            guard try readSome(until: deadline) else {
                throw RawHTTPClientError("connection closed after \(buffer.count) bytes: \(String(decoding: buffer, as: UTF8.self))")
            }
        }
    }

    /// Reads what is available (decrypted, over TLS); false at end-of-file,
    /// a TLS close_notify, or a TLS alert.
    private func readSome(until deadline: ContinuousClock.Instant) throws -> Bool {
        guard let tls else {
            guard let chunk = try receive(until: deadline) else { return false }
            buffer += chunk
            return true
        }
        while true {
            var plaintext = [UInt8](repeating: 0, count: 65536)
            let result = plaintext.withUnsafeMutableBytes { bytes in
                bytes.baseAddress.map { tls.read(into: $0, count: bytes.count) } ?? .needsInput
            }
            switch result {
            case .bytes(let count):
                buffer += plaintext[..<count]
                return true
            case .closed, .failed:
                return false
            case .needsInput:
                guard let chunk = try receive(until: deadline) else { return false }
                chunk.withUnsafeBytes { tls.receive($0) }
            }
        }
    }

    /// One `recv` of raw bytes, waiting until `deadline`; nil at end-of-file or reset.
    private func receive(until deadline: ContinuousClock.Instant) throws -> [UInt8]? {
        let remaining = deadline - ContinuousClock.now
        let milliseconds = max(0, Int32(clamping: remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000))
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, milliseconds) == 1 else { throw RawHTTPClientError("timed out after \(buffer.count) bytes") }
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if count < 0 {
            if errno == ECONNRESET { return nil }
            throw RawHTTPClientError("recv: errno \(errno)")
        }
        if count == 0 { return nil }
        return Array(chunk[..<count])
    }
}

/// A response as a test reads it.
public struct RawHTTPResponse: Sendable {
    /// The status code.
    public var status: Int
    /// The header fields in order.
    public var headers: [(String, String)]
    /// The body.
    public var body: [UInt8]

    /// The first value of `name`, compared case-insensitively.
    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    /// The body as UTF-8 text.
    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// A failed step of a ``RawHTTPClient``.
public struct RawHTTPClientError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
