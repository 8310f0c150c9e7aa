import LockEngine

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension AcquireBody {
    /// What an acquire's body asks for, read in one pass over its bytes
    /// (see ``AcquireBody`` for which bodies): each field's value, or its
    /// default when absent; the owner and token as where they are in the
    /// body, made into their values by the caller.
    ///
    /// Plain values only: holding the owner's `String` and the
    /// `LeaseToken`, the members were copied into the request and
    /// destroyed after (~50 instructions an acquire, with no owner or token).
    struct Members {
        var ttlMs: Int64
        var waitMs: Int64 = 0
        var limit: Int64 = 1
        var lockDelayMs: Int64 = 0
        var mode = LockMode.exclusive
        var durability: Durability?
        /// Where the owner's text is in the body; a count of -1 when absent.
        var owner = (start: 0, count: -1)
        /// Where the token's text is in the body (not checked); a count of -1 when absent.
        var token = (start: 0, count: -1)

        /// Reads `body`; nil when the pass does not take it (it is then
        /// read field by field).
        ///
        /// Inlined into ``AcquireBody/request(_:name:defaultTTLMs:client:waitMs:)``:
        /// the members are returned through its frame, not copied.
        @inline(__always)
        init?(_ body: UnsafeBufferPointer<UInt8>, defaultTTLMs: Int64) {
            ttlMs = defaultTTLMs
            // No baseAddress: an empty body, which, as a blank one, is an empty object.
            guard let start = body.baseAddress else { return }
            let end = start + body.count
            var position = start
            @inline(__always) func skipSpace() {
                while position < end, position.pointee <= 0x20,
                      position.pointee == 0x20 || position.pointee == 0x09 || position.pointee == 0x0A || position.pointee == 0x0D {
                    position += 1
                }
            }
            skipSpace()
            // A blank body is an empty object.
            guard position < end else { return }
            guard position.pointee == UInt8(ascii: "{") else { return nil }
            position += 1
            skipSpace()
            // A bad mode or durability leaves the body to the reading by
            // fields, which answers whatever error comes first in it.
            var present: UInt8 = 0
            if position < end, position.pointee == UInt8(ascii: "}") {
                position += 1
            } else {
                while true {
                    // A known key, its quotes and what must follow take more than 8 bytes.
                    guard end - position > 8, position.pointee == UInt8(ascii: "\"") else { return nil }
                    let key = position + 1
                    let field = Key(at: key, end: end)
                    guard field.length != 0, present & field.bit == 0 else { return nil }
                    present |= field.bit
                    position = key + field.length + 1
                    skipSpace()
                    guard position < end, position.pointee == UInt8(ascii: ":") else { return nil }
                    position += 1
                    skipSpace()
                    guard position < end else { return nil }
                    if field.bit & Key.integers != 0 {
                        guard let value = Self.integer(&position, end: end) else { return nil }
                        switch field.bit {
                        case Key.ttlMs: ttlMs = value
                        case Key.waitMs: waitMs = value
                        case Key.limit: limit = value
                        default: lockDelayMs = value
                        }
                    } else {
                        let text = position + 1
                        guard position.pointee == UInt8(ascii: "\""), let count = Self.plainString(&position, end: end) else { return nil }
                        switch field.bit {
                        case Key.owner: owner = (text - start, count)
                        case Key.token: token = (text - start, count)
                        case Key.mode:
                            let value = UnsafeBufferPointer(start: text, count: count)
                            if Self.equals(value, "exclusive") {
                                mode = .exclusive
                            } else if Self.equals(value, "shared") {
                                mode = .shared
                            } else {
                                return nil
                            }
                        default:
                            let value = UnsafeBufferPointer(start: text, count: count)
                            if Self.equals(value, "primary") {
                                durability = .primary
                            } else if Self.equals(value, "replicated") {
                                durability = .replicated
                            } else {
                                return nil
                            }
                        }
                    }
                    skipSpace()
                    guard position < end else { return nil }
                    if position.pointee == UInt8(ascii: "}") {
                        position += 1
                        break
                    }
                    guard position.pointee == UInt8(ascii: ",") else { return nil }
                    position += 1
                    skipSpace()
                }
            }
            skipSpace()
            guard position == end else { return nil }
        }

        /// The integer at `position` (an optional `-`, then at most 18
        /// digits, a leading 0 alone), `position` moved past it; nil for
        /// anything else there — the reading by fields answers it.
        @inline(__always)
        private static func integer(_ position: inout UnsafePointer<UInt8>, end: UnsafePointer<UInt8>) -> Int64? {
            let negative = position.pointee == UInt8(ascii: "-")
            if negative { position += 1 }
            let digits = position
            var value: Int64 = 0
            // A leading 0 stands alone: a digit after it is no JSON (the parser says so).
            if position < end, position.pointee == UInt8(ascii: "0") {
                position += 1
            } else {
                // Wrapping: more than 18 digits are refused below, and 18 stay below 2^63.
                while position < end, case let digit = position.pointee &- UInt8(ascii: "0"), digit < 10 {
                    value = value &* 10 &+ Int64(digit)
                    position += 1
                }
            }
            guard position > digits, position - digits <= 18 else { return nil }
            return negative ? 0 &- value : value
        }

        /// The length of the string whose opening quote is at `position`,
        /// quotes left out, `position` moved past its closing one; nil at
        /// an escape, a control byte, a byte beyond ASCII or the end.
        ///
        /// Eight bytes at a time while eight are left: a byte at a time, a
        /// 32-character token cost ~0.3 k instructions.
        @inline(__always)
        private static func plainString(_ position: inout UnsafePointer<UInt8>, end: UnsafePointer<UInt8>) -> Int? {
            position += 1
            let text = position
            while end - position >= 8 {
                let word = UInt64(littleEndian: UnsafeRawPointer(position).loadUnaligned(as: UInt64.self))
                let stops = Self.stops(word)
                if stops != 0 {
                    position += stops.trailingZeroBitCount >> 3
                    guard position.pointee == UInt8(ascii: "\"") else { return nil }
                    position += 1
                    return position - 1 - text
                }
                position += 8
            }
            while position < end {
                let byte = position.pointee
                position += 1
                if byte == UInt8(ascii: "\"") { return position - 1 - text }
                // A backslash, or below 0x20 or above 0x7F (wrapping: the difference is then at least 0x60).
                if byte == UInt8(ascii: "\\") || byte &- 0x20 >= 0x60 { return nil }
            }
            return nil
        }

        /// The high bit of each byte of `word` at which a plain string
        /// stops: a quote, a backslash, a control byte (below 0x20) or a
        /// byte beyond ASCII. Each lane's sum stays below 0x100 (its byte
        /// below 0x80 once the high bit is cleared), so no lane carries
        /// into the next and every lane's answer is exact.
        @inline(__always)
        static func stops(_ word: UInt64) -> UInt64 {
            let ones: UInt64 = 0x0101_0101_0101_0101, high: UInt64 = 0x8080_8080_8080_8080
            let ascii = word & ~high
            let control = ~(ascii &+ ones &* 0x60) & high
            let quote = ~((ascii ^ ones &* 0x22) &+ ones &* 0x7F) & high
            let backslash = ~((ascii ^ ones &* 0x5C) &+ ones &* 0x7F) & high
            return (word & high) | control | quote | backslash
        }

        /// The owner's text at `place` in `body` (printable ASCII, so no
        /// byte is repaired). Written in place: `String(decoding:as:)` cost
        /// a short owner ~65 instructions more.
        static func owner(_ place: (start: Int, count: Int), in body: UnsafeBufferPointer<UInt8>) -> String {
            String(unsafeUninitializedCapacity: place.count) { space in
                if let target = space.baseAddress, let source = body.baseAddress {
                    target.initialize(from: source + place.start, count: place.count)
                }
                return place.count
            }
        }

        /// The token whose text is at `place` in `body`; nil when it is no token.
        static func token(_ place: (start: Int, count: Int), in body: UnsafeBufferPointer<UInt8>) -> LeaseToken? {
            LeaseToken(checking: UnsafeBufferPointer(start: body.baseAddress.map { $0 + place.start }, count: place.count))
        }

        /// Whether `text` is `literal`'s bytes.
        @inline(__always)
        private static func equals(_ text: UnsafeBufferPointer<UInt8>, _ literal: StaticString) -> Bool {
            guard text.count == literal.utf8CodeUnitCount, let base = text.baseAddress else { return false }
            return memcmp(base, literal.utf8Start, text.count) == 0
        }
    }
}
