extension String {
    /// `bytes` as a string if they are valid UTF-8, else nil: `String(validating:as:)`
    /// with a fast path for ASCII, which is what lockd's answers are.
    ///
    /// `String(validating:as:)` on an array slice takes a generic path (some 1,000
    /// instructions a call under callgrind: benchmarks/sdk/instructions.sh); ASCII
    /// is valid UTF-8 as it is.
    init?(utf8Validating bytes: UnsafeBufferPointer<UInt8>) {
        if bytes.allSatisfy({ $0 < 0x80 }) {
            self = String(decoding: bytes, as: UTF8.self)
        } else if let text = String(validating: bytes, as: UTF8.self) {
            self = text
        } else {
            return nil
        }
    }
}
