/// One of Redis Cluster's 16 384 hash slots, which decide the master a key
/// (or a shard channel) lives on.
///
/// The rules are Redis's own: CRC16 (XMODEM) of the key modulo 16 384, where
/// a key holding `{…}` with at least one byte between the first `{` and the
/// first `}` after it is hashed by those bytes alone, so `lockd:{orders}:lease`
/// and `lockd:{orders}:queue` share a slot.
///
/// ```swift
/// RedisHashSlot(key: "foo").value                      // 12182, as CLUSTER KEYSLOT foo says
/// RedisHashSlot(key: "lockd:{orders}:lease") == RedisHashSlot(key: "orders")   // true
/// let channel = "lockd:wake:{\(RedisHashSlot(5).hashTag)}"   // a channel in slot 5
/// ```
public struct RedisHashSlot: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// How many slots there are.
    public static let count = 16384

    /// The slot's number, 0 ..< 16 384.
    public let value: UInt16

    /// The slot numbered `value`; values past the last slot wrap around.
    public init(_ value: Int) {
        self.value = UInt16(truncatingIfNeeded: value) & UInt16(Self.count - 1)
    }

    /// The slot of a key (or shard channel) given as UTF-8 text.
    public init(key: String) {
        var key = key
        self = key.withUTF8 { RedisHashSlot(key: $0) }
    }

    /// The slot of a key given as bytes.
    public init(key: some Collection<UInt8>) {
        let hashed = Self.hashedPart(of: key)
        self.value = Self.crc16(hashed) & UInt16(Self.count - 1)
    }

    /// A short text whose slot is this one: any key holding `{tag}` lives
    /// here, so a client can name one channel or key per slot.
    public var hashTag: String { Self.tags[Int(value)] }

    /// The longest ``hashTag`` of any slot, in bytes.
    public static let maxHashTagLength = tags.reduce(0) { max($0, $1.utf8.count) }

    public var description: String { String(value) }

    public static func < (lhs: RedisHashSlot, rhs: RedisHashSlot) -> Bool { lhs.value < rhs.value }

    /// The bytes Redis hashes: those inside the first non-empty `{…}`, else the whole key.
    static func hashedPart<Key: Collection<UInt8>>(of key: Key) -> Key.SubSequence {
        guard let open = key.firstIndex(of: UInt8(ascii: "{")) else { return key[...] }
        let afterOpen = key.index(after: open)
        guard let close = key[afterOpen...].firstIndex(of: UInt8(ascii: "}")), close != afterOpen else { return key[...] }
        return key[afterOpen..<close]
    }

    /// CRC16-CCITT (XMODEM: polynomial 0x1021, initial value 0), as Redis computes it.
    public static func crc16(_ bytes: some Sequence<UInt8>) -> UInt16 {
        var crc: UInt16 = 0
        for byte in bytes {
            crc = (crc << 8) ^ crcTable[Int(UInt8(truncatingIfNeeded: crc >> 8) ^ byte)]
        }
        return crc
    }

    private static let crcTable: [UInt16] = (0..<256).map { index in
        var crc = UInt16(index) << 8
        for _ in 0..<8 {
            crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1
        }
        return crc
    }

    /// The shortest tag (of `[0-9a-z]`, shortest first) hashing to each slot,
    /// found once by trying tags in order; about 200 000 tries fill every slot.
    private static let tags: [String] = {
        let alphabet = Array("0123456789abcdefghijklmnopqrstuvwxyz".utf8)
        var tags = [String?](repeating: nil, count: count)
        var missing = count
        var length = 1
        while missing > 0 {
            var digits = [Int](repeating: 0, count: length)
            while true {
                let tag = digits.map { alphabet[$0] }
                let slot = Int(crc16(tag)) & (count - 1)
                if tags[slot] == nil {
                    tags[slot] = String(decoding: tag, as: UTF8.self)
                    missing -= 1
                    if missing == 0 { break }
                }
                // Next tag of this length, like an odometer.
                var position = length - 1
                while position >= 0 {
                    digits[position] += 1
                    if digits[position] < alphabet.count { break }
                    digits[position] = 0
                    position -= 1
                }
                if position < 0 { break }
            }
            length += 1
        }
        return tags.map { $0 ?? "" }
    }()
}
