extension AcquireBody {
    /// Which of ``AcquireField``'s keys a member's key is, told from the
    /// word at its first byte: a name and then its closing quote are that
    /// key whole (no name holds a quote or a backslash), so one or two
    /// masked word compares find it — where finding the key's end, then
    /// comparing it with each name in turn, cost ~0.1 k instructions a key.
    struct Key {
        /// The field's bit: 1 << its ``AcquireField`` slot; 0 for no known key.
        let bit: UInt8
        /// The key's length in bytes, quotes left out; 0 for no known key.
        let length: Int

        /// The key whose name, then a quote, is at `key`; no known key
        /// (``bit`` and ``length`` 0) when none is. At least 8 bytes must
        /// be readable from `key` (before `end`).
        @inline(__always)
        init(at key: UnsafePointer<UInt8>, end: UnsafePointer<UInt8>) {
            let raw = UnsafeRawPointer(key)
            let room = end - key
            // The names' bytes read little-endian: the first byte lowest.
            let word = UInt64(littleEndian: raw.loadUnaligned(as: UInt64.self))
            func load(at offset: Int) -> UInt64 { UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) }
            switch word & 0xFF {
            case UInt64(UInt8(ascii: "t")):
                if word & 0x00FF_FFFF_FFFF_FFFF == 0x0022_736D_5F6C_7474 {  // ttl_ms"
                    self.init(.ttlMs)
                } else if word & 0xFFFF_FFFF_FFFF == 0x226E_656B_6F74 {  // token"
                    self.init(.token)
                } else {
                    self.init()
                }
            case UInt64(UInt8(ascii: "w")):
                if word == 0x2273_6D5F_7469_6177 { self.init(.waitMs) } else { self.init() }  // wait_ms"
            case UInt64(UInt8(ascii: "o")):
                if word & 0xFFFF_FFFF_FFFF == 0x2272_656E_776F { self.init(.owner) } else { self.init() }  // owner"
            case UInt64(UInt8(ascii: "l")):
                if word & 0xFFFF_FFFF_FFFF == 0x2274_696D_696C {  // limit"
                    self.init(.limit)
                } else if room >= 14, word == 0x6C65_645F_6B63_6F6C, load(at: 6) == 0x2273_6D5F_7961_6C65 {  // lock_del, elay_ms"
                    self.init(.lockDelayMs)
                } else {
                    self.init()
                }
            case UInt64(UInt8(ascii: "m")):
                if word & 0xFF_FFFF_FFFF == 0x22_6564_6F6D { self.init(.mode) } else { self.init() }  // mode"
            case UInt64(UInt8(ascii: "d")):
                if room >= 11, word == 0x696C_6962_6172_7564, load(at: 3) == 0x2279_7469_6C69_6261 {  // durabili, ability"
                    self.init(.durability)
                } else {
                    self.init()
                }
            default:
                self.init()
            }
        }

        /// `field`'s key.
        @inline(__always)
        private init(_ field: AcquireField) {
            bit = 1 << UInt8(field.rawValue)
            length = field.name.utf8CodeUnitCount
        }

        /// No known key.
        @inline(__always)
        private init() {
            bit = 0
            length = 0
        }

        /// The bits of the fields whose values are integers; the others' are strings.
        static var integers: UInt8 { ttlMs | waitMs | limit | lockDelayMs }
        static var ttlMs: UInt8 { 1 << UInt8(AcquireField.ttlMs.rawValue) }
        static var waitMs: UInt8 { 1 << UInt8(AcquireField.waitMs.rawValue) }
        static var owner: UInt8 { 1 << UInt8(AcquireField.owner.rawValue) }
        static var token: UInt8 { 1 << UInt8(AcquireField.token.rawValue) }
        static var limit: UInt8 { 1 << UInt8(AcquireField.limit.rawValue) }
        static var mode: UInt8 { 1 << UInt8(AcquireField.mode.rawValue) }
        static var durability: UInt8 { 1 << UInt8(AcquireField.durability.rawValue) }
        static var lockDelayMs: UInt8 { 1 << UInt8(AcquireField.lockDelayMs.rawValue) }
    }
}
