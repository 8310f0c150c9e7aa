/// Writes integers as ASCII decimal digits straight into a byte array,
/// without the `String` that `String(value)` would allocate.
enum ASCIIDigits {
    /// Appends `value` in decimal (with a leading `-` when negative).
    static func append(_ value: Int64, to bytes: inout [UInt8]) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        // The magnitude as unsigned, so Int64.min needs no special case.
        var magnitude = value.magnitude
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 20 digits at most, as stack space
        let count = withUnsafeMutableBytes(of: &digits) { scratch -> Int in
            var count = 0
            repeat {
                scratch[scratch.count - 1 - count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            } while magnitude > 0
            return count
        }
        withUnsafeBytes(of: &digits) { scratch in
            // Through a buffer, not a slice: `+=` of a `Slice` copies byte by byte.
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[(scratch.count - count)...]))
        }
    }
}
