import RESP

/// Reading the scripts' replies: integers, holders, owners and modes.
extension RedisLockStore {
    static let malformed = LockError.unavailable("the lock store answered in an unexpected way")

    static func fields(_ reply: RESPValue, count: Int) throws(LockError) -> [RESPValue] {
        guard let fields = reply.array, fields.count >= count else { throw malformed }
        return fields
    }

    static func int(_ value: RESPValue) throws(LockError) -> Int64 {
        try int(value.int)
    }

    static func int(_ number: Int?) throws(LockError) -> Int64 {
        guard let number else { throw malformed }
        return Int64(number)
    }

    /// The scripts' flat `fence, remaining_ms, mode, owner, client, …` list.
    static func holders(_ value: RESPValue, now: Int64) throws(LockError) -> [Holder] {
        guard let flat = value.array, flat.count % 5 == 0 else { throw malformed }
        var holders: [Holder] = []
        holders.reserveCapacity(flat.count / 5)
        for start in stride(from: 0, to: flat.count, by: 5) {
            let remaining = try int(flat[start + 1])
            // 0 is a holder: PTTL answers 0 in a key's last millisecond, and
            // the key (the lease) lives through it.
            guard remaining >= 0 else { continue }
            holders.append(Holder(owner: owner(flat[start + 3]), fence: try int(flat[start]), expiresAtMs: now + remaining,
                                  remainingMs: remaining, mode: try mode(flat[start + 2]), client: owner(flat[start + 4])))
        }
        return holders
    }

    static func owner(_ value: RESPValue) -> String? {
        owner(value.string)
    }

    static func owner(_ text: String?) -> String? {
        text.flatMap { $0.isEmpty ? nil : $0 }
    }

    static func mode(_ value: RESPValue) throws(LockError) -> LockMode {
        // Its one byte, read without making a `String` of it.
        guard let bytes = value.bytes, bytes.count == 1 else { throw malformed }
        return try mode(bytes[0])
    }

    /// A mode field's one byte (nil when it is not one byte).
    static func mode(_ byte: UInt8?) throws(LockError) -> LockMode {
        switch byte {
        case UInt8(ascii: "x"): return .exclusive
        case UInt8(ascii: "s"): return .shared
        default: throw malformed
        }
    }
}
