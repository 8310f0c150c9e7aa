import Dispatch
import LockdTestSupport

#if canImport(Glibc)
import Glibc
#endif
import Testing

@testable import LockdTransport

/// When a loop may skip the look at a socket before writing a grant
/// (``EventLoop/hangUpMayBeUnseen(at:)``): only within its batch's window,
/// and only when the batch reported no hang-up and was not full.
@Suite struct HangUpWindowTests {
    private static let start: UInt64 = 5_000_000_000
    private static let window = HangUpWindow.freshness

    private static func batch(_ flags: [EpollEvents], capacity: Int = 8) -> HangUpWindow {
        var events = [UInt32](repeating: 0, count: capacity)
        for (index, flag) in flags.enumerated() { events[index] = flag.rawValue }
        var window = HangUpWindow()
        window.began(at: start, count: flags.count, events: events)
        return window
    }

    @Test func beforeAnyBatchNothingIsKnown() {
        #expect(HangUpWindow().mayHideHangUp(at: Self.start))
    }

    @Test func aBatchOfDataStandsForTheSocketsWithinItsWindowOnly() {
        let window = Self.batch([.readable, [.readable, .writable]])
        #expect(!window.mayHideHangUp(at: Self.start))
        #expect(!window.mayHideHangUp(at: Self.start + Self.window))
        #expect(window.mayHideHangUp(at: Self.start + Self.window + 1))
    }

    @Test(arguments: [EpollEvents.readHangup, .hangup, .error])
    func aHangUpAnywhereInTheBatchMeansLook(_ flag: EpollEvents) {
        #expect(Self.batch([.readable, [.readable, flag]]).mayHideHangUp(at: Self.start))
        #expect(Self.batch([flag, .readable]).mayHideHangUp(at: Self.start))
    }

    @Test func aFullBatchMeansLookForEventsLeftUnread() {
        #expect(Self.batch(Array(repeating: .readable, count: 8)).mayHideHangUp(at: Self.start))
    }

    @Test func flagsBeyondTheBatchAreLeftOversOfAnEarlierOne() {
        var events = [UInt32](repeating: EpollEvents.readHangup.rawValue, count: 8)
        events[0] = EpollEvents.readable.rawValue
        var window = HangUpWindow()
        window.began(at: Self.start, count: 1, events: events)
        #expect(!window.mayHideHangUp(at: Self.start))
    }

    /// On a loop: the handler of an event that comes before a peer's
    /// half-close in the same batch is told a hang-up may be unseen.
    @Test func aHalfCloseLaterInTheBatchIsKnownToAnEarlierEventsHandler() async throws {
        let loop = try EventLoop.spawn(name: "test")
        defer { loop.shutdown() }
        let data = try SocketPair(), halfClosed = try SocketPair()
        defer {
            data.close()
            halfClosed.close()
        }
        let told = Locked<Bool?>(nil)
        let gate = DispatchSemaphore(value: 0)
        // The loop is held while both events come, so one batch brings them
        // (in the order they came: epoll's ready list is first in, first out).
        await withCheckedContinuation { (held: CheckedContinuation<Void, Never>) in
            loop.execute {
                do {
                    try loop.register(fd: data.loopEnd, events: [.readable, .readHangup], handler: Once(loop, data.loopEnd) {
                        let mayBeUnseen = loop.hangUpMayBeUnseen(at: MonotonicClock.now())
                        told.withLock { $0 = mayBeUnseen }
                    })
                    try loop.register(fd: halfClosed.loopEnd, events: [.readable, .readHangup], handler: Once(loop, halfClosed.loopEnd) {})
                } catch {
                    Issue.record("register: \(error)")
                }
                held.resume()
                gate.wait()
            }
        }
        var byte: UInt8 = 1
        #expect(write(data.peerEnd, &byte, 1) == 1)
        _ = shutdown(halfClosed.peerEnd, Int32(SHUT_WR))
        gate.signal()
        let handled = await eventually { told.withLock { $0 } != nil }
        #expect(handled, "the loop never handled the first event")
        let mayBeUnseen = told.withLock { $0 }
        #expect(mayBeUnseen == true)
    }
}

/// Calls `body` on its first event, then stops watching its descriptor.
private final class Once: EventHandler, @unchecked Sendable {
    // Safe to share: the loop calls it on its own thread only.
    private let loop: EventLoop
    private let fd: Int32
    private let body: () -> Void

    init(_ loop: EventLoop, _ fd: Int32, _ body: @escaping () -> Void) {
        self.loop = loop
        self.fd = fd
        self.body = body
    }

    func handleEvents(_ events: EpollEvents) {
        body()
        loop.deregister(fd: fd)
    }
}

/// A connected pair of Unix stream sockets: one end for the loop, one for the test.
private struct SocketPair {
    let loopEnd: Int32
    let peerEnd: Int32

    init() throws {
        var fds: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0 else { throw SocketPairError(code: errno) }
        loopEnd = fds[0]
        peerEnd = fds[1]
    }

    func close() {
        _ = Glibc.close(loopEnd)
        _ = Glibc.close(peerEnd)
    }
}

private struct SocketPairError: Error {
    let code: Int32
}
