extension String {
    /// `bytes` as a string if they are valid UTF-8, else nil: `String(validating:as:)`
    /// with a fast path for ASCII, which is what lockd's answers are.
    ///
    /// `String(validating:as:)` on an array slice takes a generic path (some 1,000
    /// instructions a call under callgrind, most of a response's parsing:
    /// benchmarks/sdk/instructions.sh); ASCII is valid UTF-8 as it is.
    init?(utf8Validating bytes: ArraySlice<UInt8>) {
        let ascii: String?? = bytes.withContiguousStorageIfAvailable { buffer in
            buffer.allSatisfy { $0 < 0x80 } ? String(decoding: buffer, as: UTF8.self) : nil
        }
        if case let text?? = ascii {
            self = text
        } else if let text = String(validating: bytes, as: UTF8.self) {
            self = text
        } else {
            return nil
        }
    }
}
