extension JSONString {
    /// Appends `text` to `json` as a quoted, escaped JSON string, in UTF-8.
    ///
    /// Works on the UTF-8 bytes: every byte of a multi-byte sequence is at
    /// least 0x80, so only ASCII bytes ever need escaping and the rest are
    /// copied as they are.
    public static func append(_ text: String, to json: inout [UInt8]) {
        json.append(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { utf8 in
            var clean = 0  // start of the run of bytes that need no escape
            var index = 0
            while index < utf8.count {
                let byte = utf8[index]
                index += 1
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                json.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[clean..<index - 1]))
                clean = index
                json.append(UInt8(ascii: "\\"))
                switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): json.append(byte)
                case UInt8(ascii: "\n"): json.append(UInt8(ascii: "n"))
                case UInt8(ascii: "\r"): json.append(UInt8(ascii: "r"))
                case UInt8(ascii: "\t"): json.append(UInt8(ascii: "t"))
                default:
                    json += [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hexDigit(byte >> 4), hexDigit(byte & 0xF)]
                }
            }
            json.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[clean...]))
        }
        json.append(UInt8(ascii: "\""))
    }

    private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10
    }
}
