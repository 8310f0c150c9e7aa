/// One byte of a line or target changed: the input the scanners' tests
/// feed both the code under test and its reference with, every position of
/// every base given each special byte in turn.
struct ByteReplacement {
    /// The input before the change.
    let base: [UInt8]
    /// Where the byte was replaced.
    let position: Int
    /// The byte put there.
    let special: UInt8

    /// `base` with its byte at `position` replaced by `special`.
    var replaced: [UInt8] {
        var bytes = base
        bytes[position] = special
        return bytes
    }

    /// Every replacement of one byte of one of `bases` by one of
    /// `specials`: base by base, position by position, in their order.
    static func all(of bases: [[UInt8]], by specials: [UInt8]) -> [ByteReplacement] {
        bases.flatMap { base in
            base.indices.flatMap { position in specials.map { ByteReplacement(base: base, position: position, special: $0) } }
        }
    }
}
