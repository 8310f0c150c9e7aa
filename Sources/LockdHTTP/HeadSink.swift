/// Where ``HTTPResponseEncoder`` writes a head: counted first, then written.
protocol HeadSink {
    mutating func write(_ bytes: UnsafeRawBufferPointer)
    mutating func write(_ text: String)
    mutating func byte(_ value: UInt8)
}

extension HeadSink {
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
        byte(HTTPSyntax.cr)
        byte(HTTPSyntax.lf)
    }

    /// `value`'s digits in `radix` (lowercase hex for 16), written backwards into stack space first.
    mutating func decimal(_ value: UInt64, radix: UInt64 = 10) {
        var digits: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)  // 64 bytes: any radix ≥ 2
        withUnsafeMutableBytes(of: &digits) { scratch in
            var start = scratch.count
            var rest = value
            repeat {
                let digit = UInt8(truncatingIfNeeded: rest % radix)
                start -= 1
                scratch[start] = digit < 10 ? UInt8(ascii: "0") + digit : UInt8(ascii: "a") + digit - 10
                rest /= radix
            } while rest > 0
            write(UnsafeRawBufferPointer(rebasing: scratch[start...]))
        }
    }
}

/// Counts what would be written.
struct ByteCounter: HeadSink {
    var count = 0
    mutating func write(_ bytes: UnsafeRawBufferPointer) { count += bytes.count }
    mutating func write(_ text: String) { count += text.utf8.count }
    mutating func byte(_ value: UInt8) { count += 1 }
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
}
