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
}
