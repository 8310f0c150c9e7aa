#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
@testable import LockdAPI
import LockEngine
import Testing

/// review19: the one-pass acquire body reader (``AcquireBody/Members``)
/// loads words through raw pointers (the key's first word, a string's
/// eight bytes at a time), which no bounds check covers even in a debug
/// build. Every body, each of its prefixes and each of its suffixes, is
/// read from bytes that end exactly where an inaccessible page begins (and,
/// apart, that start exactly where one ends): one byte read outside faults.
@Suite struct Review19AcquireBodyGuardPageTests {
    /// Three pages, the first and last inaccessible.
    final class GuardedPages {
        let base: UnsafeMutableRawPointer
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

        init() throws {
            let mapped = mmap(nil, 3 * pageSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
            guard let mapped, mapped != MAP_FAILED else { throw MappingFailed() }
            base = mapped
            guard mprotect(base, pageSize, PROT_NONE) == 0, mprotect(base + 2 * pageSize, pageSize, PROT_NONE) == 0 else {
                throw MappingFailed()
            }
        }

        deinit { munmap(base, 3 * pageSize) }

        /// `body` over `bytes` placed against the second guard page, then against the first.
        func reading<Value>(_ bytes: ArraySlice<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) -> Value) -> (Value, Value) {
            func at(_ start: UnsafeMutableRawPointer) -> Value {
                bytes.withUnsafeBytes { source in
                    if let from = source.baseAddress { start.copyMemory(from: from, byteCount: source.count) }
                }
                return body(UnsafeBufferPointer(start: start.assumingMemoryBound(to: UInt8.self), count: bytes.count))
            }
            return (at(base + 2 * pageSize - bytes.count), at(base + pageSize))
        }
    }

    struct MappingFailed: Error {}

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
                let (against, after) = pages.reading(bytes[..<end], Self.read)
                #expect(against == after, "\(text.prefix(end))")
                if against != nil { read += 1 }
            }
            for start in 0...bytes.count {
                let (against, after) = pages.reading(bytes[start...], Self.read)
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
                _ = pages.reading(member[..<end], Self.read)
            }
        }
    }
}
