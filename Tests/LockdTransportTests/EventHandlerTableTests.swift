import Testing

@testable import LockdTransport

/// The loop finds a descriptor's handler by its number: each number gives
/// back exactly the handler registered for it, until it is removed, and
/// numbers never registered (or out of range) give none.
@Suite struct EventHandlerTableTests {
    final class Handler: EventHandler {
        let id: Int
        init(id: Int) { self.id = id }
        func handleEvents(_ events: EpollEvents) {}
    }

    @Test func eachDescriptorGivesBackItsOwnHandlerUntilRemoved() {
        var table = EventHandlerTable()
        var expected: [Int32: Int] = [:]
        // Dense low numbers, a jump past the first growth, one far out.
        let fds: [Int32] = [0, 3, 4, 5, 63, 64, 65, 200, 7, 1_000, 4]
        for (id, fd) in fds.enumerated() {
            table[fd] = Handler(id: id)
            expected[fd] = id
            for probe in Int32(-2)...1_002 {
                #expect((table[probe] as? Handler)?.id == expected[probe], "after \(id): fd \(probe)")
            }
        }
        for fd in [Int32(5), 1_000, 0, 9_999] {
            table[fd] = nil
            expected[fd] = nil
        }
        for probe in Int32(-2)...10_001 {
            #expect((table[probe] as? Handler)?.id == expected[probe], "after removal: fd \(probe)")
        }
        table[-1] = Handler(id: 99)
        #expect(table[-1] == nil)
        table.removeAll()
        #expect(table[3] == nil && table[200] == nil)
    }

    @Test func aStreamIsFoundUnretainedAndNoOtherHandlerIs() throws {
        let loop = try EventLoop.spawn(name: "table-test")
        defer { loop.shutdown() }
        let socket = try Socket.listen(on: SocketAddress(parsing: "127.0.0.1:0"))
        defer { socket.close() }
        // Never started: the table only holds it.
        let stream = StreamSocket(accepted: socket, on: loop, tls: nil)
        var table = EventHandlerTable()
        table[3] = Handler(id: 0)
        table[5] = stream
        #expect(table.stream(fd: 3) == nil)
        #expect(table.stream(fd: 5)?.takeUnretainedValue() === stream)
        #expect(table[5] === stream)
        for probe in [Int32(-1), 0, 4, 6, 10_000] { #expect(table.stream(fd: probe) == nil) }
        table[5] = Handler(id: 1)
        #expect(table.stream(fd: 5) == nil)
        table[5] = stream
        table[5] = nil
        #expect(table.stream(fd: 5) == nil && table[5] == nil)
    }
}
