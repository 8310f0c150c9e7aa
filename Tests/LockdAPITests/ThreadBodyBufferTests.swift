@testable import LockdAPI
import Testing

/// A thread's body array is used again once no body holds it, and a body
/// handed out never changes, whatever is written after it.
@Suite struct ThreadBodyBufferTests {
    private static func body(_ text: String) -> [UInt8] {
        Array(text.utf8).withUnsafeBufferPointer(ThreadBodyBuffer.body(copying:))
    }

    private static func address(_ bytes: [UInt8]) -> UnsafePointer<UInt8>? {
        bytes.withUnsafeBufferPointer { $0.baseAddress }
    }

    // Synchronous: every call below runs on one thread, so on one array.
    @Test func aBodyHeldElsewhereIsLeftAloneAndAFreeArrayIsUsedAgain() {
        var first: [UInt8]? = Self.body(#"{"name":"a","fence":1}"#)
        let firstAddress = first.flatMap(Self.address)
        // The first is still held: the second gets an array of its own.
        var second: [UInt8]? = Self.body(#"{"name":"bb"}"#)
        #expect(first == Array(#"{"name":"a","fence":1}"#.utf8))
        #expect(second == Array(#"{"name":"bb"}"#.utf8))
        #expect(second.flatMap(Self.address) != firstAddress)
        let secondAddress = second.flatMap(Self.address)
        first = nil
        // The second still held, a longer and then a shorter body: each its own, unchanged by the next.
        let third = Self.body(String(repeating: "x", count: 300))
        #expect(second == Array(#"{"name":"bb"}"#.utf8))
        #expect(third == Array(repeating: UInt8(ascii: "x"), count: 300))
        second = nil
        _ = secondAddress
        // Nothing holds the thread's array but `third`: still not written over.
        let thirdAddress = Self.address(third)
        let fourth = Self.body("{}")
        #expect(third == Array(repeating: UInt8(ascii: "x"), count: 300))
        #expect(fourth == Array("{}".utf8))
        #expect(Self.address(fourth) != thirdAddress)
    }

    @Test func theArrayIsUsedAgainOnceNoBodyHoldsIt() {
        var address: UnsafePointer<UInt8>?
        do {
            let first = Self.body(#"{"name":"first"}"#)
            address = Self.address(first)
            #expect(first == Array(#"{"name":"first"}"#.utf8))
        }
        // The first body is gone: the next is written where it was. (An
        // array of that size made first takes the memory a freed body
        // would have left, so a body made afresh could not land there.)
        let occupying = [UInt8](repeating: 1, count: 16)
        let next = Self.body(#"{"name":"nx"}"#)
        #expect(next == Array(#"{"name":"nx"}"#.utf8))
        #expect(Self.address(next) == address)
        withExtendedLifetime(occupying) {}
        // An empty body too.
        let empty: [UInt8] = []
        #expect(Self.body("") == empty)
    }
}
