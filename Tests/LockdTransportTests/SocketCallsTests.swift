#if canImport(Glibc)
import Glibc
#endif
import Testing

@testable import LockdTransport

/// `Socket`'s calls (made through syscall(2), not glibc's wrappers) report
/// what the kernel did as before: bytes, would-block, end of file, a
/// failure's errno — and a send to a gone peer fails without SIGPIPE.
@Suite struct SocketCallsTests {
    /// Two connected non-blocking stream sockets.
    private func pair() throws -> (Socket, Socket) {
        var fds: [Int32] = [-1, -1]
        let made = socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0, &fds)
        try #require(made == 0)
        return (Socket(fd: fds[0]), Socket(fd: fds[1]))
    }

    @Test func readsAndWritesReportBytesWouldBlockEndOfFileAndFailures() throws {
        let (reader, writer) = try pair()
        defer { reader.close() }
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        func read() -> Socket.ReadResult { buffer.withUnsafeMutableBytes { reader.read(into: $0.baseAddress!, count: $0.count) } }

        #expect(read() == .wouldBlock)
        #expect(!reader.peerHasClosed())
        let hello = Array("hello".utf8)
        #expect(hello.withUnsafeBytes { writer.write($0) } == .bytes(5))
        #expect(read() == .bytes(5))
        #expect(Array(buffer.prefix(5)) == hello)
        #expect(Array<UInt8>().withUnsafeBytes { writer.write($0) } == .bytes(0))

        // Filled up: a write takes what fits, then would block.
        var results: [Socket.WriteResult] = []
        for _ in 0..<1_000 {
            let result = buffer.withUnsafeBytes { writer.write($0) }
            results.append(result)
            if result == .wouldBlock { break }
        }
        #expect(results.last == .wouldBlock)
        #expect(results.dropLast().allSatisfy { if case .bytes(let count) = $0 { count > 0 } else { false } })

        // The peer gone: what it sent is read, then the end of the file.
        writer.close()
        #expect(reader.peerHasClosed())
        var drained = 0
        while case .bytes(let count) = read() { drained += count }
        #expect(drained > 0)
        #expect(read() == .endOfFile)
        // Sending to it fails with EPIPE, and no SIGPIPE stops this process.
        #expect(hello.withUnsafeBytes { reader.write($0) } == .failed(EPIPE))
    }

    @Test func callsOnNoDescriptorFailWithItsErrno() {
        let none = Socket(fd: -1)
        var byte: UInt8 = 0
        #expect(none.read(into: &byte, count: 1) == .failed(EBADF))
        #expect(withUnsafeBytes(of: &byte) { none.write($0) } == .failed(EBADF))
    }
}
