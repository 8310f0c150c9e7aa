/// Byte classes sixteen bytes at a time, in the lanes of a `SIMD16<UInt8>`:
/// the arithmetic of ``HTTPSyntax/notLetterOrHyphen(_:)`` and
/// ``HTTPRequestDecoder/controlBytes(_:)`` lane by lane, which the compiler
/// turns into SSE2's (or NEON's) byte-wise instructions — twelve or so for
/// sixteen bytes where a 64-bit word takes about as many for eight. A
/// lane's sum never carries into the next, so every flag is exact.
/// (Comparisons such as `.<` on these vectors are not used: the compiler
/// makes them a loop over the lanes.)
extension HTTPSyntax {
    typealias Lanes = SIMD16<UInt8>

    /// The high bit of each lane of `lanes` that is not an ASCII letter or `-`.
    @inline(__always)
    static func notLetterOrHyphen(lanes: Lanes) -> Lanes {
        let high = Lanes(repeating: 0x80)
        // Letters folded to lower case, the high bit dropped so that the sums stay within the lane.
        let folded = (lanes | Lanes(repeating: 0x20)) & Lanes(repeating: 0x7F)
        let atLeastA = folded &+ Lanes(repeating: 0x80 - 0x61)
        let aboveZ = folded &+ Lanes(repeating: 0x7F - 0x7A)
        let letter = atLeastA & ~aboveZ & ~lanes
        return ~(letter | equal(lanes, to: UInt8(ascii: "-"))) & high
    }

    /// The high bit of each lane of `lanes` that is below 0x20 (HTAB, CR
    /// and LF included) or is 0x7F: ``isControl(_:)``.
    @inline(__always)
    static func controlBytes(lanes: Lanes) -> Lanes {
        // A lane's low seven bits plus 0x60 reach 0x80 from 0x20 up.
        let fromSpace = (lanes & Lanes(repeating: 0x7F)) &+ Lanes(repeating: 0x60)
        let below0x20 = ~(fromSpace | lanes) & Lanes(repeating: 0x80)
        return below0x20 | equal(lanes, to: 0x7F)
    }

    /// The high bit of each lane of `lanes` that is `byte`.
    @inline(__always)
    static func equal(_ lanes: Lanes, to byte: UInt8) -> Lanes {
        let difference = lanes ^ Lanes(repeating: byte)
        return ~(((difference & Lanes(repeating: 0x7F)) &+ Lanes(repeating: 0x7F)) | difference) & Lanes(repeating: 0x80)
    }

    /// How many leading bytes of `bytes`, from `start`, a scan passes:
    /// sixteen at a time while `stops` flags none of their lanes, then
    /// eight at a time as `stopsInWord` flags them, up to the first flagged
    /// byte. The tail of fewer than eight bytes is the caller's, byte by
    /// byte. (Offsets within the buffer: added without overflow checks.)
    @inline(__always)
    static func leadingRun(
        of bytes: UnsafeRawBufferPointer, from start: Int, stoppingAt stops: (Lanes) -> Lanes, inWords stopsInWord: (UInt64) -> UInt64
    ) -> Int {
        var index = start
        while bytes.count &- index >= 16 {
            let flagged = unsafeBitCast(stops(bytes.loadUnaligned(fromByteOffset: index, as: Lanes.self)), to: SIMD2<UInt64>.self)
            // Lane 0 is the lowest byte of the first word, read little-endian.
            let low = UInt64(littleEndian: flagged[0]), high = UInt64(littleEndian: flagged[1])
            if low != 0 { return index &+ low.trailingZeroBitCount &>> 3 }
            if high != 0 { return index &+ 8 &+ high.trailingZeroBitCount &>> 3 }
            index &+= 16
        }
        while bytes.count &- index >= 8 {
            let flagged = stopsInWord(UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self)))
            if flagged != 0 { return index &+ flagged.trailingZeroBitCount &>> 3 }
            index &+= 8
        }
        return index
    }
}
