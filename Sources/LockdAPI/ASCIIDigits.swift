/// Writes integers as ASCII decimal digits straight into a byte array,
/// without the `String` that `String(value)` would allocate.
enum ASCIIDigits {
    /// The most bytes ``write(_:to:)`` writes: `Int64.min`'s 20 characters.
    static let maxCount = 20

    /// Appends `value` in decimal (with a leading `-` when negative).
    static func append(_ value: Int64, to bytes: inout [UInt8]) {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 20 characters at most, as stack space
        withUnsafeMutableBytes(of: &digits) { scratch in
            guard let base = scratch.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
            // Through a buffer, not a slice: `+=` of a `Slice` copies byte by byte.
            bytes.append(contentsOf: UnsafeBufferPointer(start: base, count: write(value, to: base)))
        }
    }

    /// Writes `value` in decimal at `position` (room for ``maxCount``
    /// bytes) and returns how many bytes it wrote.
    static func write(_ value: Int64, to position: UnsafeMutablePointer<UInt8>) -> Int {
        // The magnitude as unsigned, so Int64.min needs no special case.
        var magnitude = value.magnitude
        var width = value < 0 ? 2 : 1
        var rest = magnitude
        while rest >= 10 {
            rest /= 10
            width += 1
        }
        if value < 0 { position.pointee = UInt8(ascii: "-") }
        var digit = position + width
        repeat {
            digit -= 1
            digit.pointee = UInt8(ascii: "0") + UInt8(magnitude % 10)
            magnitude /= 10
        } while magnitude > 0
        return width
    }
}
