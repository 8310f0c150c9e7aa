@testable import LockdAPI
import LockEngine
import Testing

/// A thread's token array is used again once no token holds it, and a
/// token made of it never changes, whatever is copied in after it.
@Suite struct ThreadTokenBytesTests {
    private static func text(_ length: Int, seed: Int) -> [UInt8] {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        return (0..<length).map { alphabet[($0 * 7 + seed * 13 + 3) % 64] }
    }

    private static func token(_ text: [UInt8]) -> LeaseToken? {
        LeaseToken(bytes: text.withUnsafeBufferPointer(ThreadTokenBytes.bytes(copying:)))
    }

    private static func address(_ bytes: [UInt8]) -> UnsafePointer<UInt8>? {
        bytes.withUnsafeBufferPointer { $0.baseAddress }
    }

    // Synchronous: every call below runs on one thread, so on one array.
    @Test func aTokenHeldElsewhereIsLeftAloneAndAFreeArrayIsUsedAgain() throws {
        let firstText = Self.text(43, seed: 1), secondText = Self.text(36, seed: 2), thirdText = Self.text(128, seed: 3)
        var first = try #require(Self.token(firstText))
        // The first token still held: the next ones are their own, and none changes it.
        let second = try #require(Self.token(secondText))
        let third = try #require(Self.token(thirdText))
        for (token, text) in [(first, firstText), (second, secondText), (third, thirdText)] {
            #expect(token.withUTF8 { Array($0) } == text)
            #expect(token == text.withUnsafeBufferPointer { LeaseToken(checking: $0) })
        }
        #expect(first != second && second != third && first != third)
        // A copy of the array made into a token is the same token as one made apart.
        first = try #require(Self.token(Self.text(43, seed: 1)))
        #expect(first.withUTF8 { Array($0) } == firstText)
    }

    @Test func theArrayIsUsedAgainOnceNoTokenHoldsIt() throws {
        var address: UnsafePointer<UInt8>?
        do {
            let bytes = Self.text(43, seed: 4).withUnsafeBufferPointer(ThreadTokenBytes.bytes(copying:))
            address = Self.address(bytes)
            #expect(bytes == Self.text(43, seed: 4))
        }
        let next = Self.text(40, seed: 5).withUnsafeBufferPointer(ThreadTokenBytes.bytes(copying:))
        #expect(next == Self.text(40, seed: 5))
        #expect(Self.address(next) == address)
        // Held by a token: the next copy goes elsewhere, the token keeps its text.
        let held = try #require(LeaseToken(bytes: next))
        let after = Self.text(50, seed: 6).withUnsafeBufferPointer(ThreadTokenBytes.bytes(copying:))
        #expect(Self.address(after) != address)
        #expect(held.withUTF8 { Array($0) } == Self.text(40, seed: 5))
        #expect(after == Self.text(50, seed: 6))
    }
}
