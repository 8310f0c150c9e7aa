import LockdTLS
import LockdTestSupport
import Synchronization
import Testing

@testable import LockdTransport

/// StreamSocket over loopback, both ends: TLS records OpenSSL holds while
/// the owner pauses, writes taken only as the socket takes them, and how
/// streams end.
@Suite struct StreamSocketTests {
    /// What a stream's delegate saw, in order.
    enum Event: Equatable, Sendable {
        case opened
        case received(Int)
        case writable
        case closed(StreamCloseReason)
    }

    /// A delegate that records events and keeps the bytes it consumes;
    /// it consumes nothing while `paused`.
    final class Recorder: StreamSocketDelegate, @unchecked Sendable {
        // Safe to share: every property is touched on the stream's loop
        // only (delegate calls, and `onLoop` closures), or is a Mutex.
        let events: AsyncStream<Event>
        private let sink: AsyncStream<Event>.Continuation
        var paused = false
        /// Queued and flushed from inside the first delivery, when set: an
        /// answer written while the read that delivered is still running.
        var reply: [UInt8]?
        var bytes: [UInt8] = []
        var stream: StreamSocket?
        let total = Mutex(0)

        init() {
            (events, sink) = AsyncStream.makeStream(of: Event.self)
        }

        func streamOpened(_ stream: StreamSocket) { sink.yield(.opened) }

        func streamReceived(_ stream: StreamSocket, _ input: UnsafeRawBufferPointer) -> Int {
            guard !paused else {
                sink.yield(.received(0))
                return 0
            }
            bytes += input
            total.withLock { $0 = bytes.count }
            sink.yield(.received(input.count))
            if let reply {
                self.reply = nil
                stream.queueOutput { $0 += reply }
                _ = stream.flush()
            }
            return input.count
        }

        func streamWritable(_ stream: StreamSocket) { sink.yield(.writable) }

        func streamClosed(_ stream: StreamSocket, _ reason: StreamCloseReason) { sink.yield(.closed(reason)) }
    }

    /// Accepts one connection as a server stream with `recorder` as its delegate.
    final class Acceptor: EventHandler, @unchecked Sendable {
        // Safe to share: `accepted` is touched on the loop only; the rest never changes.
        let listener: Socket
        let loop: EventLoop
        let tls: TLSServerContext?
        let options: StreamSocket.Options
        let recorder: Recorder

        init(loop: EventLoop, tls: TLSServerContext?, options: StreamSocket.Options, recorder: Recorder) throws {
            listener = try Socket.listen(on: SocketAddress(parsing: "127.0.0.1:0"))
            self.loop = loop
            self.tls = tls
            self.options = options
            self.recorder = recorder
        }

        func handleEvents(_ events: EpollEvents) {
            guard let client = try? listener.accept() else { return }
            let stream = StreamSocket(accepted: client, on: loop, tls: tls, options: options)
            recorder.stream = stream
            try? stream.start(delegate: recorder)
        }
    }

    /// A connected pair: a server stream and a client stream, on one loop.
    struct Pair {
        let loop: EventLoop
        let server: Recorder
        let client: Recorder
        let acceptor: Acceptor

        static func make(tls: Bool, serverOptions: StreamSocket.Options = .init(), trustedCA: String? = nil) async throws -> Pair {
            let certificates = try TestCertificates.shared()
            let loop = try EventLoop.spawn(name: "stream-test")
            let server = Recorder()
            let client = Recorder()
            let serverTLS = try tls ? TLSServerContext(configuration: TLSServerConfiguration(
                certificateFile: certificates.serverCertificateFile, privateKeyFile: certificates.serverKeyFile)) : nil
            let clientTLS = try tls ? TLSClientContext(configuration: TLSClientConfiguration(caFile: trustedCA ?? certificates.caFile)) : nil
            let acceptor = try Acceptor(loop: loop, tls: serverTLS, options: serverOptions, recorder: server)
            let address = try acceptor.listener.localAddress()
            try await onLoop(loop) {
                try loop.register(fd: acceptor.listener.fd, events: .readable, handler: acceptor)
                client.stream = try StreamSocket.connect(
                    to: address, on: loop, tls: clientTLS.map { .client($0, serverName: "127.0.0.1") }, delegate: client)
            }
            return Pair(loop: loop, server: server, client: client, acceptor: acceptor)
        }

        func stop() async {
            await onLoop(loop) {
                server.stream?.close()
                client.stream?.close()
                loop.deregister(fd: acceptor.listener.fd)
                acceptor.listener.close()
            }
            loop.shutdown()
        }
    }

    static func onLoop<T: Sendable>(_ loop: EventLoop, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            loop.execute { continuation.resume(with: Result { try body() }) }
        }
    }

    static func onLoop<T: Sendable>(_ loop: EventLoop, _ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            loop.execute { continuation.resume(returning: body()) }
        }
    }

    /// The next event matching `predicate`, skipping others; nil when the stream ends first.
    static func next(_ events: AsyncStream<Event>, where predicate: (Event) -> Bool) async -> Event? {
        for await event in events where predicate(event) { return event }
        return nil
    }

    /// Fits one read of the loop's buffer, so that after it the kernel has
    /// nothing more to announce: what OpenSSL holds is offered only on resume.
    static let payload = (0..<40_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 9) }

    @Test(arguments: [false, true])
    func aPausedOwnerGetsEveryByteWhenItResumesEvenThoseOpenSSLHolds(tls: Bool) async throws {
        let pair = try await Pair.make(tls: tls, serverOptions: .init(maxBufferedInput: 4_096))
        #expect(await Self.next(pair.client.events) { $0 == .opened } == .opened)
        #expect(await Self.next(pair.server.events) { $0 == .opened } == .opened)
        await Self.onLoop(pair.loop) { pair.server.paused = true }
        // A first piece waits unconsumed; the rest arrives in one go behind it.
        try await Self.onLoop(pair.loop) {
            let stream = try #require(pair.client.stream)
            stream.queueOutput { $0 += Self.payload[..<1_000] }
            _ = stream.flush()
        }
        #expect(await Self.next(pair.server.events) { $0 == .received(0) } == .received(0))
        try await Self.onLoop(pair.loop) {
            let stream = try #require(pair.client.stream)
            stream.queueOutput { $0 += Self.payload[1_000...] }
            _ = stream.flush()
        }
        // The server holds back: reading pauses once 4 KiB wait unconsumed.
        let bufferedAgain = await eventually { await Self.onLoop(pair.loop) { pair.server.stream?.bufferedInputCount ?? 0 } >= 4_096 }
        #expect(bufferedAgain)
        let buffered = try await Self.onLoop(pair.loop) { try #require(pair.server.stream).bufferedInputCount }
        #expect(buffered >= 4_096 && buffered < Self.payload.count)
        #expect(await Self.onLoop(pair.loop) { pair.server.stream?.hasInputToResume } == true)
        // Resumed, it is offered the rest — with TLS, records inside OpenSSL
        // that no readiness event will ever announce.
        await Self.onLoop(pair.loop) {
            pair.server.paused = false
            pair.server.stream?.resumeInput()
        }
        let receivedAll = await eventually(within: .seconds(10)) { pair.server.total.withLock { $0 } == Self.payload.count }
        #expect(receivedAll)
        #expect(await Self.onLoop(pair.loop) { pair.server.stream?.hasInputToResume } == false)
        let intact = await Self.onLoop(pair.loop) { pair.server.bytes == Self.payload }
        #expect(intact)
        await pair.stop()
    }

    /// More bytes than loopback TCP can hold between a sender and a reader
    /// that stopped reading: the most the receive buffer may grow to
    /// (autotuning, `tcp_rmem`'s maximum, 32 MiB on these machines) plus the
    /// most the send buffer may (`tcp_wmem`'s), and 1 MiB more — so part of
    /// an answer that large always waits in the stream's own queue.
    static let moreThanTheKernelBuffers: Int = {
        func maximum(_ path: String) -> Int? {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
            return text.split(whereSeparator: \.isWhitespace).last.flatMap { Int($0) }
        }
        let receive = maximum("/proc/sys/net/ipv4/tcp_rmem") ?? 32 << 20
        let send = maximum("/proc/sys/net/ipv4/tcp_wmem") ?? 4 << 20
        return receive + send + (1 << 20)
    }()

    /// A flush from inside a delivery leaves the socket's interest to the
    /// read that delivered: an answer too large for the socket, flushed
    /// there, must still go out whole once the peer reads.
    @Test(arguments: [false, true])
    func anAnswerFlushedDuringADeliveryGoesOutWholeThoughTheSocketBlocks(tls: Bool) async throws {
        let pair = try await Pair.make(tls: tls)
        #expect(await Self.next(pair.client.events) { $0 == .opened } == .opened)
        #expect(await Self.next(pair.server.events) { $0 == .opened } == .opened)
        let reply = [UInt8](repeating: 0xA5, count: Self.moreThanTheKernelBuffers)
        await Self.onLoop(pair.loop) {
            pair.server.reply = reply
            pair.client.paused = true
        }
        try await Self.onLoop(pair.loop) {
            let stream = try #require(pair.client.stream)
            stream.queueOutput { $0 += [1, 2, 3] }
            _ = stream.flush()
        }
        #expect(await Self.next(pair.server.events) { $0 == .received(3) } == .received(3))
        // The socket took part of it; the rest waits for the client to read.
        let waiting = await Self.onLoop(pair.loop) { pair.server.stream?.queuedOutputCount ?? 0 }
        #expect(waiting > 0)
        await Self.onLoop(pair.loop) {
            pair.client.paused = false
            pair.client.stream?.resumeInput()
        }
        let receivedAll = await eventually(within: .seconds(20)) { pair.client.total.withLock { $0 } == reply.count }
        #expect(receivedAll)
        await pair.stop()
    }

    @Test(arguments: [false, true])
    func anOwnersWriteIsTakenOnlyAsTheSocketTakesIt(tls: Bool) async throws {
        let pair = try await Pair.make(tls: tls)
        #expect(await Self.next(pair.client.events) { $0 == .opened } == .opened)
        #expect(await Self.next(pair.server.events) { $0 == .opened } == .opened)
        // The server stops reading; the client writes far more than socket buffers hold.
        await Self.onLoop(pair.loop) { pair.server.paused = true }
        let big = [UInt8](repeating: 0x5A, count: 32 << 20)
        let firstTake = try await Self.onLoop(pair.loop) {
            let stream = try #require(pair.client.stream)
            return big.withUnsafeBytes { stream.write($0) }
        }
        let taken = try #require(try? firstTake.get())
        #expect(taken > 0 && taken < big.count)
        await Self.onLoop(pair.loop) {
            pair.server.paused = false
            pair.server.stream?.resumeInput()
        }
        // Once the peer reads, the owner hears it may write again.
        #expect(await Self.next(pair.client.events) { $0 == .writable } == .writable)
        await pair.stop()
    }

    @Test(arguments: [false, true])
    func shuttingOutputDeliversWhatWasSentThenEndsTheStream(tls: Bool) async throws {
        let pair = try await Pair.make(tls: tls)
        #expect(await Self.next(pair.server.events) { $0 == .opened } == .opened)
        await Self.onLoop(pair.loop) {
            guard let stream = pair.server.stream else { return }
            stream.queueOutput { $0 += Array("last words".utf8) }
            _ = stream.flush()
            stream.shutdownOutput()
        }
        #expect(await Self.next(pair.client.events) { if case .closed = $0 { true } else { false } } == .closed(.peerClosed))
        #expect(await Self.onLoop(pair.loop) { pair.client.bytes } == Array("last words".utf8))
        await pair.stop()
    }

    @Test func anUntrustedServerFailsTheHandshakeWithTheReason() async throws {
        let pair = try await Pair.make(tls: true, trustedCA: try TestCertificates.shared().otherCAFile)
        guard case .closed(.handshakeFailed(let error))? = await Self.next(pair.client.events, where: { _ in true }) else {
            Issue.record("the client must refuse a server its CA did not sign")
            return await pair.stop()
        }
        #expect(error.message.contains("not trusted"), "\(error.message)")
        await pair.stop()
    }
}
