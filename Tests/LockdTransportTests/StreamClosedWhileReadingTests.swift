import LockdTestSupport
import Synchronization
import Testing

@testable import LockdTransport

/// The loop calls a stream, and the stream its delegate, unretained as
/// bytes arrive: a delegate that closes its stream during that call and
/// lets go of it must find itself and its stream alive until the call
/// returns, and both must be freed once the loop's iteration ends.
@Suite struct StreamClosedWhileReadingTests {
    /// What the closing delegate saw of itself and of its stream.
    final class Sightings: @unchecked Sendable {
        // Safe to share: `weak` references are atomic in Swift, and the
        // flags are a Mutex.
        weak var delegate: Closer?
        weak var stream: StreamSocket?
        /// Whether each was alive right after the close, inside the call.
        let aliveAfterClose = Mutex<(delegate: Bool, stream: Bool)?>(nil)
    }

    /// Closes its stream at the first bytes and lets go of it: nothing but
    /// the loop then refers to either.
    final class Closer: StreamSocketDelegate, @unchecked Sendable {
        // Safe to share: `stream` is touched on the stream's loop only.
        var stream: StreamSocket?
        let sightings: Sightings

        init(sightings: Sightings) { self.sightings = sightings }

        func streamOpened(_ stream: StreamSocket) {}

        func streamReceived(_ stream: StreamSocket, _ input: UnsafeRawBufferPointer) -> Int {
            stream.close()
            self.stream = nil
            let delegate = sightings.delegate != nil
            let stream = sightings.stream != nil
            sightings.aliveAfterClose.withLock { $0 = (delegate, stream) }
            return input.count
        }

        func streamClosed(_ stream: StreamSocket, _ reason: StreamCloseReason) {}
    }

    /// Accepts one connection as a stream that only its `Closer` and the loop hold.
    final class Acceptor: EventHandler, @unchecked Sendable {
        // Safe to share: touched on the loop only, or never changed.
        let listener: Socket
        let loop: EventLoop
        let sightings: Sightings

        init(loop: EventLoop, sightings: Sightings) throws {
            listener = try Socket.listen(on: SocketAddress(parsing: "127.0.0.1:0"))
            self.loop = loop
            self.sightings = sightings
        }

        func handleEvents(_ events: EpollEvents) {
            guard let client = try? listener.accept() else { return }
            let stream = StreamSocket(accepted: client, on: loop, tls: nil)
            let closer = Closer(sightings: sightings)
            closer.stream = stream
            sightings.delegate = closer
            sightings.stream = stream
            try? stream.start(delegate: closer)
        }
    }

    @Test func aDelegateThatClosesItsStreamWhileReadingOutlivesTheCallThenBothAreFreed() async throws {
        let loop = try EventLoop.spawn(name: "closed-while-reading")
        defer { loop.shutdown() }
        let sightings = Sightings()
        let acceptor = try Acceptor(loop: loop, sightings: sightings)
        let address = try acceptor.listener.localAddress()
        let client = StreamSocketTests.Recorder()
        try await StreamSocketTests.onLoop(loop) {
            try loop.register(fd: acceptor.listener.fd, events: .readable, handler: acceptor)
            client.stream = try StreamSocket.connect(to: address, on: loop, delegate: client)
        }
        #expect(await StreamSocketTests.next(client.events) { $0 == .opened } == .opened)
        try await StreamSocketTests.onLoop(loop) {
            let stream = try #require(client.stream)
            stream.queueOutput { $0 += [1, 2, 3] }
            _ = stream.flush()
        }
        let seen = await eventually { sightings.aliveAfterClose.withLock { $0 != nil } }
        #expect(seen)
        let alive = sightings.aliveAfterClose.withLock { $0 }
        #expect(alive?.delegate == true)
        #expect(alive?.stream == true)
        // Freed once the iteration is over (the loop wakes again for the
        // client's end of the connection, which the close ends).
        let freed = await eventually { sightings.delegate == nil && sightings.stream == nil }
        #expect(freed)
        await StreamSocketTests.onLoop(loop) {
            client.stream?.close()
            loop.deregister(fd: acceptor.listener.fd)
            acceptor.listener.close()
        }
    }
}
