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
        guard let (methodLength, method) = Self.usualMethod(first) else { return false }
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

    /// The usual request line, as ``parseUsualRequestLine(_:)`` reads it,
    /// starting at `start` in `input` and followed by its CRLF, all in
    /// `input`, its CR at most `limit` bytes from `start`: read, and where
    /// its CR is returned; nil, with nothing changed, for any other line
    /// (or one not all here), which ``HTTPRequestDecoder/nextLine(_:from:limit:)``
    /// and ``parseRequestLine(_:)`` read. The line's end is found by the
    /// path's scan — the byte after the path must be SP, then `HTTP/1.1`
    /// and CRLF — where `nextLine` scanned the whole line for control bytes
    /// first (~0.1 k instructions a request with its call and result). Such
    /// a line has none: `nextLine` would end it at the same CR, within the
    /// same limit.
    @inline(__always)
    mutating func parseUsualRequestLine(_ input: UnsafeRawBufferPointer, from start: Int, limit: Int) -> Int? {
        let left = input.count &- start
        // The shortest such line and its CRLF: 16 bytes.
        guard left >= 16, let base = input.baseAddress else { return nil }
        let line = base + start
        let first = UInt64(littleEndian: line.loadUnaligned(as: UInt64.self))
        guard let (methodLength, method) = Self.usualMethod(first) else { return nil }
        // The path: words while their bytes are plain; its end is the first
        // byte that is not (every flag is exact), which must be the SP.
        let targetStart = methodLength &+ 1
        var index = targetStart
        while true {
            // A whole line has at least 11 bytes after its path's last
            // byte: every word it needs is within `input`.
            guard left &- index >= 8 else { return nil }
            let flags = HTTPSyntax.notPlainTargetBytes(UInt64(littleEndian: line.loadUnaligned(fromByteOffset: index, as: UInt64.self)))
            if flags != 0 {
                index &+= flags.trailingZeroBitCount &>> 3
                break
            }
            index &+= 8
        }
        // SP, `HTTP/1.1` and CRLF after a path of at least one byte, `/` first.
        let end = index &+ 9
        guard index > targetStart, left &- index >= 11, end <= limit,
              line.load(fromByteOffset: targetStart, as: UInt8.self) == UInt8(ascii: "/"),
              line.load(fromByteOffset: index, as: UInt8.self) == HTTPSyntax.space,
              UInt64(littleEndian: line.loadUnaligned(fromByteOffset: index &+ 1, as: UInt64.self)) == Self.http11Word,
              line.load(fromByteOffset: end, as: UInt8.self) == HTTPSyntax.cr,
              line.load(fromByteOffset: end &+ 1, as: UInt8.self) == HTTPSyntax.lf
        else { return nil }
        self.method = method
        isHead = methodLength == 4 && first & 0xFF == UInt64(UInt8(ascii: "H"))
        version = .http1_1
        storePath(UnsafeRawBufferPointer(start: line + targetStart, count: index &- targetStart))
        return start &+ end
    }

    /// The usual method whose bytes and SP start `first` (the line's first
    /// word, little-endian): its length and the method; nil for another.
    @inline(__always)
    static func usualMethod(_ first: UInt64) -> (Int, HTTPMethod)? {
        if first & 0xFFFF_FFFF == getWord { return (3, .get) }
        if first & 0xFF_FFFF_FFFF == postWord { return (4, .post) }
        if first & 0xFF_FFFF_FFFF_FFFF == deleteWord { return (6, .delete) }
        if first & 0xFF_FFFF_FFFF == headWord { return (4, .head) }
        if first & 0xFFFF_FFFF == putWord { return (3, .put) }
        return nil
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
