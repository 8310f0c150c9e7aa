/// Where the parts of a usual field line are, from the line's start: the
/// name ends at `colon`, the value is `valueStart..<valueEnd`, the CR is at `end`.
struct UsualFieldLine: Equatable {
    /// The line's first byte (in the decoder's input).
    var start: UnsafeRawPointer
    var colon: Int
    var valueStart: Int
    var valueEnd: Int
    var end: Int
}

extension PartialHead {
    /// The field line starting at `start` in `input` read in one block of
    /// sixteen bytes for its name and as few as its value needs, when it
    /// has the shape nearly every field line has: a name of 1–15 ASCII
    /// letters and `-` followed by `:`, at most one SP, a value that does
    /// not start with SP or HTAB and holds no control byte, then CRLF, all
    /// within `input` and its CR at most `limit` bytes from `start`. Nil
    /// for any other line, or when fewer than sixteen bytes are left from
    /// `start`: ``addPlainFieldLine(_:from:limit:maxCount:fault:)`` reads
    /// it as before. Where this answers, that function answers the same
    /// offsets (``UsualFieldLineTests`` holds them side by side); its
    /// general form, sixteen lanes, then words, then bytes, for the name and
    /// again for the value, each with its own bounds, the OWS loop and the
    /// trim loop, cost ~265 instructions a field line of 20–30 bytes.
    ///
    /// The value's last block may start before the value (the last sixteen
    /// bytes of the input, its lanes before the value masked off): every
    /// block read is within `input`.
    @inline(__always)
    static func usualFieldLine(_ input: UnsafeRawBufferPointer, from start: Int, limit: Int) -> UsualFieldLine? {
        let left = input.count &- start
        guard left >= 16, let base = input.baseAddress else { return nil }
        let line = base + start
        // The name: its first byte that is not a letter or `-` must be the
        // colon, within the first block.
        let nameStops = HTTPSyntax.notLetterOrHyphen(lanes: line.loadUnaligned(as: HTTPSyntax.Lanes.self))
        let colon = Self.firstFlagged(nameStops)
        guard colon != 0, colon < 16, line.load(fromByteOffset: colon, as: UInt8.self) == HTTPSyntax.colon else { return nil }
        // One SP at most before the value (no other whitespace: HTAB is a
        // control byte, and ends the value's scan at once).
        var valueStart = colon &+ 1
        guard valueStart < left else { return nil }
        if line.load(fromByteOffset: valueStart, as: UInt8.self) == HTTPSyntax.space {
            valueStart &+= 1
            guard valueStart < left, line.load(fromByteOffset: valueStart, as: UInt8.self) != HTTPSyntax.space else { return nil }
        }
        // The value up to its first control byte, a block at a time.
        var block = valueStart
        var end: Int
        while true {
            if left &- block >= 16 {
                let stops = HTTPSyntax.controlBytes(lanes: line.loadUnaligned(fromByteOffset: block, as: HTTPSyntax.Lanes.self))
                let first = Self.firstFlagged(stops)
                if first < 16 {
                    end = block &+ first
                    break
                }
                block &+= 16
            } else {
                guard block < left else { return nil }
                // The input's last sixteen bytes, those before `block` (1–15 of them) not counted.
                let last = left &- 16
                let stops = HTTPSyntax.controlBytes(lanes: line.loadUnaligned(fromByteOffset: last, as: HTTPSyntax.Lanes.self))
                let first = Self.firstFlagged(stops, from: block &- last)
                guard first < 16 else { return nil }
                end = last &+ first
                break
            }
        }
        guard end &+ 1 < left, end <= limit, line.load(fromByteOffset: end, as: UInt8.self) == HTTPSyntax.cr,
              line.load(fromByteOffset: end &+ 1, as: UInt8.self) == HTTPSyntax.lf
        else { return nil }
        // Trailing whitespace is SP only: an HTAB would have ended the scan.
        // (Asked once before the loop: most values end at the CR.)
        var valueEnd = end
        if valueEnd > valueStart, line.load(fromByteOffset: valueEnd &- 1, as: UInt8.self) == HTTPSyntax.space {
            repeat { valueEnd &-= 1 } while valueEnd > valueStart && line.load(fromByteOffset: valueEnd &- 1, as: UInt8.self) == HTTPSyntax.space
        }
        return UsualFieldLine(start: line, colon: colon, valueStart: valueStart, valueEnd: valueEnd, end: end)
    }

    /// The first lane whose high bit `flags` sets (lane 0 is the lowest
    /// byte of the first word, read little-endian); 16 when none is.
    @inline(__always)
    static func firstFlagged(_ flags: HTTPSyntax.Lanes) -> Int {
        let words = unsafeBitCast(flags, to: SIMD2<UInt64>.self)
        let low = UInt64(littleEndian: words[0]), high = UInt64(littleEndian: words[1])
        // A word without a flag has 64 trailing zeros: 8 lanes.
        return low != 0 ? low.trailingZeroBitCount &>> 3 : 8 &+ high.trailingZeroBitCount &>> 3
    }

    /// The first lane from `skip` (1–15) on whose high bit `flags` sets; 16 when none is.
    @inline(__always)
    static func firstFlagged(_ flags: HTTPSyntax.Lanes, from skip: Int) -> Int {
        let words = unsafeBitCast(flags, to: SIMD2<UInt64>.self)
        var low = UInt64(littleEndian: words[0]), high = UInt64(littleEndian: words[1])
        if skip < 8 {
            low &= ~0 &<< UInt64(truncatingIfNeeded: skip &* 8)
        } else {
            low = 0
            high &= ~0 &<< UInt64(truncatingIfNeeded: (skip &- 8) &* 8)
        }
        return low != 0 ? low.trailingZeroBitCount &>> 3 : 8 &+ high.trailingZeroBitCount &>> 3
    }
}
