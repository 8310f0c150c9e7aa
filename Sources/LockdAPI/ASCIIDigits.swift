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
            bytes += scratch[(scratch.count - count)...]
        }
    }

    /// Appends `value` (0 or more) in decimal, left-padded with zeros to `width` digits.
    static func append(_ value: Int64, width: Int, to bytes: inout [UInt8]) {
        var power: Int64 = 1
        var digits = 1
        while digits < width {
            power *= 10
            digits += 1
        }
        var rest = value
        // Wider than asked (or negative): as it is.
        if rest < 0 || rest >= power * 10 {
            append(rest, to: &bytes)
            return
        }
        while power > 0 {
            bytes.append(UInt8(ascii: "0") + UInt8(rest / power))
            rest %= power
            power /= 10
        }
    }
}
