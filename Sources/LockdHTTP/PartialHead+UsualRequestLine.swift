extension PartialHead {
    /// Reads the request line nearly every client sends — `GET`, `HEAD`,
    /// `POST`, `PUT` or `DELETE`, SP, a path starting with `/` whose bytes
    /// are visible ASCII but `?` and `#`, SP, `HTTP/1.1` — and returns
    /// true; false, with nothing changed, for any other line, which
    /// ``parseAnyRequestLine(_:)`` reads. Where this answers, that function
    /// answers the same method, version and path
    /// (``UsualRequestLineTests`` holds them side by side): it found both
    /// spaces through `memchr`, told the method through `memcmp` and read
    /// the target again for `?` and `#` (~0.2 k instructions a request, with
    /// their calls).
    @inline(__always)
    mutating func parseUsualRequestLine(_ line: UnsafeRawBufferPointer) -> Bool {
        let count = line.count
        // `GET / HTTP/1.1`, the shortest such line, has 14 bytes.
        guard count >= 14, let base = line.baseAddress else { return false }
        // The method and its SP, told from the line's first word.
        let first = UInt64(littleEndian: base.loadUnaligned(as: UInt64.self))
        let methodLength: Int
        let method: HTTPMethod
        if first & 0xFFFF_FFFF == Self.getWord {
            methodLength = 3
            method = .get
        } else if first & 0xFF_FFFF_FFFF == Self.postWord {
            methodLength = 4
            method = .post
        } else if first & 0xFF_FFFF_FFFF_FFFF == Self.deleteWord {
            methodLength = 6
            method = .delete
        } else if first & 0xFF_FFFF_FFFF == Self.headWord {
            methodLength = 4
            method = .head
        } else if first & 0xFFFF_FFFF == Self.putWord {
            methodLength = 3
            method = .put
        } else {
            return false
        }
        // SP and `HTTP/1.1` end the line.
        guard base.load(fromByteOffset: count &- 9, as: UInt8.self) == HTTPSyntax.space,
              UInt64(littleEndian: base.loadUnaligned(fromByteOffset: count &- 8, as: UInt64.self)) == Self.http11Word
        else { return false }
        // The target between the two: a path, its bytes all plain (no SP
        // among them, so the SP before the version is the line's second).
        let target = base + (methodLength &+ 1)
        let targetCount = count &- 9 &- (methodLength &+ 1)
        guard targetCount > 0, target.load(as: UInt8.self) == UInt8(ascii: "/") else { return false }
        var offset = 0
        while targetCount &- offset >= 8 {
            guard HTTPSyntax.notPlainTargetBytes(UInt64(littleEndian: target.loadUnaligned(fromByteOffset: offset, as: UInt64.self))) == 0
            else { return false }
            offset &+= 8
        }
        if offset < targetCount {
            // The target's last bytes: its last eight (overlapping bytes
            // passed already) or, for a shorter target, the word it starts
            // with, the line's bytes after it (SP and the version) not
            // counted. Every flag is exact (see ``HTTPSyntax/notPlainTargetBytes(_:)``).
            let flags: UInt64
            if targetCount >= 8 {
                flags = HTTPSyntax.notPlainTargetBytes(
                    UInt64(littleEndian: target.loadUnaligned(fromByteOffset: targetCount &- 8, as: UInt64.self)))
            } else {
                flags = HTTPSyntax.notPlainTargetBytes(UInt64(littleEndian: target.loadUnaligned(as: UInt64.self)))
                    & ((1 &<< UInt64(truncatingIfNeeded: targetCount &* 8)) &- 1)
            }
            guard flags == 0 else { return false }
        }
        self.method = method
        isHead = methodLength == 4 && first & 0xFF == UInt64(UInt8(ascii: "H"))
        version = .http1_1
        storePath(UnsafeRawBufferPointer(start: target, count: targetCount))
        return true
    }

    /// `GET `, `PUT ` (four bytes), `POST `, `HEAD ` (five) and `DELETE `
    /// (seven) as little-endian words (the first byte lowest);
    /// ``UsualRequestLineTests`` checks them against the text.
    static let getWord: UInt64 = 0x2054_4547
    static let putWord: UInt64 = 0x2054_5550
    static let postWord: UInt64 = 0x20_5453_4F50
    static let headWord: UInt64 = 0x20_4441_4548
    static let deleteWord: UInt64 = 0x20_4554_454C_4544
}
