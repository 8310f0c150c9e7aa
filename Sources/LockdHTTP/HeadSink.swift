/// Where ``HTTPResponseEncoder`` writes a head: counted first, then written.
protocol HeadSink {
    mutating func write(_ bytes: UnsafeRawBufferPointer)
    mutating func write(_ text: String)
    mutating func byte(_ value: UInt8)
    /// Writes the `count` (≤ 8) lowest bytes of `packed`, the lowest first:
    /// a number's digits or a short name gathered in a register.
    mutating func write(packed: UInt64, count: Int)
    /// Writes `bytes`, most often 8–32 of them (the date, a field's name or value).
    mutating func write(short bytes: UnsafeRawBufferPointer)
}

extension HeadSink {
    mutating func write(short bytes: UnsafeRawBufferPointer) {
        write(bytes)
    }

    mutating func write(_ text: StaticString) {
        write(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    mutating func write(_ text: String) {
        // Borrowed where the bytes are contiguous (always, for a native
        // string): `withUTF8` needs a mutable copy of the string.
        if text.utf8.withContiguousStorageIfAvailable({ write(UnsafeRawBufferPointer($0)) }) != nil { return }
        var text = text
        text.withUTF8 { write(UnsafeRawBufferPointer($0)) }
    }

    mutating func crlf() {
        write(packed: 0x0A_0D, count: 2)
    }

    /// `value` in decimal. Up to eight digits (any status code, any usual
    /// `Content-Length`) are gathered in one register and written at once;
    /// the divisor is a constant (a multiplication, not a division). The
    /// radix as a parameter and the digits stored one by one into scratch
    /// memory cost ~120 instructions a number.
    mutating func decimal(_ value: UInt64) {
        guard value < 100_000_000 else { return longDecimal(value) }
        var packed: UInt64 = 0, count = 0, rest = value
        repeat {
            let (quotient, digit) = rest.quotientAndRemainder(dividingBy: 10)
            // The digit found last (the most significant) ends in the lowest byte: first in memory.
            packed = packed << 8 | (UInt64(UInt8(ascii: "0")) + digit)
            count += 1
            rest = quotient
        } while rest > 0
        write(packed: packed, count: count)
    }

    /// `value` in lowercase hexadecimal, without leading zeros ("0" for
    /// zero); up to eight digits gathered in one register, as ``decimal(_:)``.
    ///
    /// The eight nibbles are spread one to a byte and turned into digits
    /// all at once, without a loop: a loop of a digit a turn cost ~13
    /// instructions a digit (a made request id's counter has 4–8).
    @inline(__always)
    mutating func hex(_ value: UInt64) {
        guard value <= UInt64(UInt32.max) else { return longHex(value) }
        // Nibble i (from the lowest) into byte i.
        var spread = (value | value &<< 16) & 0x0000_FFFF_0000_FFFF
        spread = (spread | spread &<< 8) & 0x00FF_00FF_00FF_00FF
        spread = (spread | spread &<< 4) & 0x0F0F_0F0F_0F0F_0F0F
        // `0`–`9` from 0x30, `a`–`f` from 0x61: 0x27 more where the nibble
        // is 10 or more (adding 6 carries into its 0x10 bit, never further).
        let letters = ((spread &+ 0x0606_0606_0606_0606) &>> 4) & 0x0101_0101_0101_0101
        let digits = (spread &+ 0x3030_3030_3030_3030 &+ letters &* 0x27).byteSwapped
        // The most significant digit first in memory (the lowest byte),
        // the leading zeros shifted out; "0" for zero.
        let count = Swift.max(1, (67 &- value.leadingZeroBitCount) &>> 2)
        write(packed: digits &>> UInt64(truncatingIfNeeded: (8 &- count) &* 8), count: count)
    }

    private mutating func longDecimal(_ value: UInt64) {
        let (high, low) = value.quotientAndRemainder(dividingBy: 100_000_000)
        decimal(high)
        // The low eight digits with their leading zeros.
        var packed: UInt64 = 0, rest = low
        for _ in 0..<8 {
            let (quotient, digit) = rest.quotientAndRemainder(dividingBy: 10)
            packed = packed << 8 | (UInt64(UInt8(ascii: "0")) + digit)
            rest = quotient
        }
        write(packed: packed, count: 8)
    }

    private mutating func longHex(_ value: UInt64) {
        hex(value >> 32)
        var packed: UInt64 = 0, rest = value & 0xFFFF_FFFF
        for _ in 0..<8 {
            let nibble = rest & 0x0F
            packed = packed << 8 | (nibble < 10 ? UInt64(UInt8(ascii: "0")) + nibble : UInt64(UInt8(ascii: "a")) + nibble - 10)
            rest >>= 4
        }
        write(packed: packed, count: 8)
    }
}

/// Counts what would be written.
struct ByteCounter: HeadSink {
    var count = 0
    mutating func write(_ bytes: UnsafeRawBufferPointer) { count += bytes.count }
    mutating func write(_ text: String) { count += text.utf8.count }
    mutating func byte(_ value: UInt8) { count += 1 }
    mutating func write(packed: UInt64, count: Int) { self.count += count }
}

/// Writes into space already sized by a ``ByteCounter``.
struct PointerWriter: HeadSink {
    var next: UnsafeMutablePointer<UInt8>

    mutating func write(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress else { return }
        next.update(from: source.assumingMemoryBound(to: UInt8.self), count: bytes.count)
        next += bytes.count
    }

    mutating func byte(_ value: UInt8) {
        next.pointee = value
        next += 1
    }

    mutating func write(packed: UInt64, count: Int) {
        // Byte by byte: the space is sized exactly, so a whole word could overrun it.
        for index in 0..<count { next[index] = UInt8(truncatingIfNeeded: packed >> UInt64(8 * index)) }
        next += count
    }
}

/// Writes into fixed space, noting when a head does not fit (what was
/// written is then dropped, and the head written again into space of its size).
struct BoundedWriter: HeadSink {
    let start: UnsafeMutablePointer<UInt8>
    let capacity: Int
    var count = 0
    var overflowed = false

    mutating func write(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, !overflowed else { return }
        guard bytes.count <= capacity - count else {
            overflowed = true
            return
        }
        (start + count).update(from: source.assumingMemoryBound(to: UInt8.self), count: bytes.count)
        count += bytes.count
    }

    mutating func byte(_ value: UInt8) {
        guard count < capacity else {
            overflowed = true
            return
        }
        start[count] = value
        count += 1
    }

    mutating func write(packed: UInt64, count written: Int) {
        guard capacity - count >= 8 else {
            // Near the end: byte by byte, each checked.
            for index in 0..<written { byte(UInt8(truncatingIfNeeded: packed >> UInt64(8 * index))) }
            return
        }
        // One unaligned store of the whole word; the bytes past `written` are overwritten next.
        UnsafeMutableRawPointer(start + count).storeBytes(of: packed.littleEndian, as: UInt64.self)
        count += written
    }
}

/// Writes into room known to be large enough, with no check per piece:
/// ``HTTPResponseEncoder/maxEncodedCount(_:headOnly:date:requestID:)``
/// bounds what is written, ``slack`` included.
struct HeadRoomWriter: HeadSink {
    /// Room past the bound that a packed write may overwrite.
    static let slack = 8

    var next: UnsafeMutableRawPointer

    mutating func write(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress else { return }
        next.copyMemory(from: source, byteCount: bytes.count)
        next += bytes.count
    }

    mutating func byte(_ value: UInt8) {
        next.storeBytes(of: value, as: UInt8.self)
        next += 1
    }

    mutating func write(packed: UInt64, count: Int) {
        // One unaligned store of the whole word (the slack allows it); the
        // bytes past `count` are overwritten next.
        next.storeBytes(of: packed.littleEndian, as: UInt64.self)
        next += count
    }

    @inline(__always)
    mutating func write(short bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress else { return }
        // As ``HTTPHeaders/copy(_:to:count:)`` copies a field: 8–32 bytes in
        // two overlapping pieces, read and written within them; any other
        // count through `memmove`, whose call and size dispatch cost ~20
        // instructions more (the date's 29 bytes, every response; a lock's
        // `Content-Type: application/json`, 12 and 16).
        HTTPHeaders.copy(source, to: next, count: bytes.count)
        next += bytes.count
    }
}
