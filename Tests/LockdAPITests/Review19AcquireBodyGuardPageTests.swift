@testable import LockdAPI
import LockdGuardPages
import LockEngine
import Testing

/// review19: the one-pass acquire body reader (``AcquireBody/Members``)
/// loads words through raw pointers (the key's first word, a string's
/// eight bytes at a time), which no bounds check covers even in a debug
/// build. Every body, each of its prefixes and each of its suffixes, is
/// read from bytes that end exactly where an inaccessible page begins (and,
/// apart, that start exactly where one ends): one byte read outside faults.
@Suite struct Review19AcquireBodyGuardPageTests {
    /// `body` over `bytes` placed against the trailing guard page, then against the leading one.
    static func reading<Value>(_ bytes: ArraySlice<UInt8>, on pages: GuardedPages,
                               _ body: (UnsafeBufferPointer<UInt8>) -> Value) -> (Value, Value) {
        (body(pages.endingAtGuard(bytes).asBytes), body(pages.startingAtGuard(bytes).asBytes))
    }

    /// What the pass reads of `body`, as plain values (nil: left to the reading by fields).
    static func read(_ body: UnsafeBufferPointer<UInt8>) -> String? {
        guard let members = AcquireBody.Members(body, defaultTTLMs: 30_000) else { return nil }
        let owner = members.owner.count < 0 ? "nil" : AcquireBody.Members.owner(members.owner, in: body)
        let token = members.token.count < 0 ? "nil" : AcquireBody.Members.token(members.token, in: body).map { "\($0.description.count)" } ?? "bad"
        return "\(members.ttlMs) \(members.waitMs) \(members.limit) \(members.lockDelayMs) \(members.mode) \(String(describing: members.durability)) \(owner) \(token)"
    }

    static let bodies: [String] = AcquireBodyTests.common + AcquireBodyTests.left + [
        #"{"lock_delay_ms":1}"#, #"{"durability":"replicated"}"#, #"{"durability":"primary"}"#, #"{"mode":"shared","limit":1}"#,
        #"{"owner":"abcdefghijklmnopqrstuvwxyz"}"#, #"{"token":"\#(AcquireBodyTests.token)"}"#, #"{"wait_ms":123456789012345678}"#,
        #"{"ttl_ms":-0}"#, #"{"lock_delay":1}"#, #"{"durabilit":"primary"}"#, #"{"lock_delay_ms"}"#, #"{"durability"}"#,
    ]

    @Test func everyBodyPrefixAndSuffixIsReadWithinItsBytes() throws {
        let pages = try GuardedPages()
        var read = 0
        for text in Self.bodies {
            let bytes = Array(text.utf8)
            for end in 0...bytes.count {
                let (against, after) = Self.reading(bytes[..<end], on: pages, Self.read)
                #expect(against == after, "\(text.prefix(end))")
                if against != nil { read += 1 }
            }
            for start in 0...bytes.count {
                let (against, after) = Self.reading(bytes[start...], on: pages, Self.read)
                #expect(against == after)
            }
        }
        #expect(read > 50)
    }

    /// The key lookup at every place a key may end near the buffer's end:
    /// each name, then a quote, cut short at every byte.
    @Test func everyKeyCutShortIsToldWithinItsBytes() throws {
        let pages = try GuardedPages()
        let names = ["ttl_ms", "wait_ms", "owner", "token", "limit", "mode", "durability", "lock_delay_ms"]
        for name in names {
            let member = Array("{\"\(name)\":1}".utf8)
            for end in 0...member.count {
                _ = Self.reading(member[..<end], on: pages, Self.read)
            }
        }
    }
}
