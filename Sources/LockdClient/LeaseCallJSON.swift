import Foundation
import OpenAPIRuntime

/// The JSON of a lock cycle — the acquire's request body and the lease in a
/// success answer — written and read byte by byte, as `JSONEncoder` and
/// `JSONDecoder` would, without their per-call setup (a container tree, coding
/// paths, `Data`), which took some 15% of a `withLock` cycle's client CPU
/// (benchmarks/sdk).
///
/// Only the plain cases are handled here; anything else — an option other
/// than the SDK's, a string that would need escaping, a member this does not
/// know, a number that is not a plain integer — returns nil, and
/// ``DirectLeaseCalls`` falls back to `JSONEncoder`/`JSONDecoder`, so the
/// bytes and values are always theirs (`LeaseCallJSONTests` compares them).
enum LeaseCallJSON {
    // MARK: Writing

    /// The acquire request as `JSONEncoder` writes it with `[.sortedKeys]` (compact,
    /// the SDK's: ``LockClient/configuration``), or nil for other options or a string
    /// that it would escape.
    static func body(_ request: Components.Schemas.AcquireRequest, options: JSONEncodingOptions) -> [UInt8]? {
        guard options == [.sortedKeys] else { return nil }
        var writer = CompactObjectWriter()
        // Sorted: the keys in byte order.
        guard writer.member("durability", string: request.durability?.rawValue),
            writer.member("limit", integer: request.limit),
            writer.member("lock_delay_ms", integer: request.lockDelayMs),
            writer.member("mode", string: request.mode?.rawValue),
            writer.member("owner", string: request.owner),
            writer.member("token", string: request.token),
            writer.member("ttl_ms", integer: request.ttlMs),
            writer.member("wait_ms", integer: request.waitMs)
        else { return nil }
        return writer.finish()
    }

    /// A compact object of string and integer members; empty objects are left to `JSONEncoder`.
    private struct CompactObjectWriter {
        var bytes: [UInt8] = []

        init() { bytes.reserveCapacity(128) }

        /// Adds `"key":"value"` when `value` is present; false if `value` would need escaping.
        mutating func member(_ key: StaticString, string value: String?) -> Bool {
            guard var value else { return true }
            // Through `withUTF8`: walking the `utf8` view cost ~1.5k instructions a request.
            return value.withUTF8 { utf8 in
                // JSONEncoder escapes `"`, `\`, `/` and controls; other bytes go as they are,
                // but anything unusual is left to it.
                for byte in utf8 where byte < 0x20 || byte >= 0x7F || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "/") {
                    return false
                }
                open(key)
                bytes.append(UInt8(ascii: "\""))
                bytes.append(contentsOf: utf8)
                bytes.append(UInt8(ascii: "\""))
                return true
            }
        }

        /// Adds `"key":value` when `value` is present.
        mutating func member(_ key: StaticString, integer value: Int?) -> Bool {
            guard let value else { return true }
            open(key)
            bytes += String(value).utf8
            return true
        }

        private mutating func open(_ key: StaticString) {
            bytes.append(bytes.isEmpty ? UInt8(ascii: "{") : UInt8(ascii: ","))
            bytes.append(UInt8(ascii: "\""))
            bytes.append(key)
            bytes.append("\":")
        }

        consuming func finish() -> [UInt8]? {
            guard !bytes.isEmpty else { return nil }
            bytes.append(UInt8(ascii: "}"))
            return bytes
        }
    }

    // MARK: Reading

    /// The lease in `bytes` when it is one flat object of the lease's members —
    /// strings without escapes, plain integers, `null` for a missing owner — or
    /// nil for anything else (which `JSONDecoder` then reads).
    static func lease(_ bytes: [UInt8], dates: any DateTranscoder) -> Components.Schemas.Lease? {
        // Read through a buffer pointer: indexing the array cost ~2k instructions a lease.
        bytes.withUnsafeBufferPointer { lease($0, dates: dates) }
    }

    private static func lease(_ bytes: UnsafeBufferPointer<UInt8>, dates: any DateTranscoder) -> Components.Schemas.Lease? {
        var reader = FlatObjectReader(bytes)
        var name: String?, token: String?, expiresAt: String?, owner: String?, mode: String?
        var fence: Int64?, ttlMs: Int?, limit: Int?
        var sawOwner = false
        guard reader.open() else { return nil }
        while let key = reader.nextKey() {
            // Keys compared as bytes: making each a String cost more than the comparison.
            switch (LeaseKey(key), reader.value()) {
            case (.name, .string(let text)) where name == nil: name = text
            case (.token, .string(let text)) where token == nil: token = text
            case (.expiresAt, .string(let text)) where expiresAt == nil: expiresAt = text
            case (.mode, .string(let text)) where mode == nil: mode = text
            case (.owner, .string(let text)) where !sawOwner: (owner, sawOwner) = (text, true)
            case (.owner, .null) where !sawOwner: sawOwner = true
            case (.fence, .integer(let number)) where fence == nil: fence = number
            case (.ttlMs, .integer(let number)) where ttlMs == nil: ttlMs = Int(exactly: number)
            case (.limit, .integer(let number)) where limit == nil: limit = Int(exactly: number)
            default: return nil
            }
        }
        guard reader.closedAtEnd, let name, let token, let fence, let ttlMs, let limit,
            let expiresAt, let date = try? dates.decode(expiresAt),
            let mode = mode.flatMap(Components.Schemas.LockMode.init(rawValue:))
        else { return nil }
        return .init(name: name, token: token, fence: fence, ttlMs: ttlMs, expiresAt: date, owner: owner, mode: mode, limit: limit)
    }

    /// The lease's members, by their key's bytes.
    private enum LeaseKey {
        case name, token, expiresAt, mode, owner, fence, ttlMs, limit, other

        init(_ key: UnsafeBufferPointer<UInt8>) {
            // memcmp: `elementsEqual` took a generic path (~2k instructions a lease).
            func equal(_ text: StaticString) -> Bool {
                guard let start = key.baseAddress, key.count == text.utf8CodeUnitCount else { return false }
                return memcmp(start, text.utf8Start, key.count) == 0
            }
            switch key.count {
            case 4 where equal("name"): self = .name
            case 4 where equal("mode"): self = .mode
            case 5 where equal("token"): self = .token
            case 5 where equal("owner"): self = .owner
            case 5 where equal("fence"): self = .fence
            case 5 where equal("limit"): self = .limit
            case 6 where equal("ttl_ms"): self = .ttlMs
            case 10 where equal("expires_at"): self = .expiresAt
            default: self = .other
            }
        }
    }

    /// Reads `{ "key": value, … }` whose values are strings without escapes,
    /// integers or `null`; any other shape makes it stop (nil key or value).
    private struct FlatObjectReader {
        enum Value {
            case string(String)
            case integer(Int64)
            case null
            case unreadable
        }

        private let bytes: UnsafeBufferPointer<UInt8>
        private var offset = 0
        private var first = true
        /// Whether the object closed, with nothing but whitespace after it.
        private(set) var closedAtEnd = false

        init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

        mutating func open() -> Bool {
            skipSpace()
            guard offset < bytes.count, bytes[offset] == UInt8(ascii: "{") else { return false }
            offset += 1
            return true
        }

        /// The next member's key (its bytes, without escapes), or nil at the object's end
        /// (see ``closedAtEnd``) or on anything unexpected.
        mutating func nextKey() -> UnsafeBufferPointer<UInt8>? {
            skipSpace()
            guard offset < bytes.count else { return nil }
            if bytes[offset] == UInt8(ascii: "}") {
                offset += 1
                skipSpace()
                closedAtEnd = offset == bytes.count
                return nil
            }
            if !first {
                guard bytes[offset] == UInt8(ascii: ",") else { return nil }
                offset += 1
                skipSpace()
            }
            first = false
            guard let key = stringBytes() else { return nil }
            skipSpace()
            guard offset < bytes.count, bytes[offset] == UInt8(ascii: ":") else { return nil }
            offset += 1
            return key
        }

        mutating func value() -> Value {
            skipSpace()
            guard offset < bytes.count else { return .unreadable }
            switch bytes[offset] {
            case UInt8(ascii: "\""):
                return string().map(Value.string) ?? .unreadable
            case UInt8(ascii: "n"):
                guard bytes[offset...].starts(with: "null".utf8) else { return .unreadable }
                offset += 4
                return .null
            default:
                return integer().map(Value.integer) ?? .unreadable
            }
        }

        /// A string without escapes or control characters, valid UTF-8.
        private mutating func string() -> String? {
            stringBytes().flatMap(String.init(utf8Validating:))
        }

        /// A string's bytes, when it has no escapes or control characters.
        private mutating func stringBytes() -> UnsafeBufferPointer<UInt8>? {
            // Checked here: a body may end right after a comma, before the next key.
            guard offset < bytes.count, bytes[offset] == UInt8(ascii: "\"") else { return nil }
            let start = offset + 1
            guard let end = JSONStringScan.closingQuote(in: bytes, from: start) else { return nil }
            offset = end + 1
            return UnsafeBufferPointer(rebasing: bytes[start..<end])
        }

        /// `-?[1-9][0-9]*` or `0`, followed by a delimiter; no fraction or exponent.
        private mutating func integer() -> Int64? {
            var index = offset
            let negative = bytes[index] == UInt8(ascii: "-")
            if negative { index += 1 }
            let digitsStart = index
            var magnitude: Int64 = 0
            while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
                let (times10, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
                let (sum, overflow2) = times10.addingReportingOverflow(Int64(bytes[index] - UInt8(ascii: "0")))
                guard !overflow1, !overflow2 else { return nil }
                magnitude = sum
                index += 1
            }
            let count = index - digitsStart
            guard count > 0, !(count > 1 && bytes[digitsStart] == UInt8(ascii: "0")), !(negative && magnitude == 0) else { return nil }
            if index < bytes.count {
                switch bytes[index] {
                case UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"): break
                default: return nil
                }
            }
            offset = index
            return negative ? -magnitude : magnitude
        }

        private mutating func skipSpace() {
            while offset < bytes.count {
                switch bytes[offset] {
                case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"): offset += 1
                default: return
                }
            }
        }
    }
}
