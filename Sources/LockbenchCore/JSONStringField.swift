/// Reads one top-level string member out of a JSON object without decoding
/// the whole document.
///
/// lockbench reads `token` from every acquire response; a full JSON decoder
/// would cost more CPU per response than the rest of the client together, and
/// that CPU is taken from the server under test on a small machine. Nested
/// values are skipped with their strings and brackets respected, so a
/// `"token"` inside another member's value is never mistaken for the lease's.
///
/// ```swift
/// JSONStringField.value(of: "token", in: Array(#"{"name":"a","token":"x"}"#.utf8))  // "x"
/// ```
public enum JSONStringField {
    /// The raw text of the top-level member `key` when it is a string without
    /// escape sequences; nil when the body is not an object, lacks the member,
    /// or holds something else there.
    public static func value(of key: String, in body: [UInt8]) -> String? {
        var scanner = Scanner(bytes: body)
        let wanted = Array(key.utf8)
        scanner.skipWhitespace()
        guard scanner.take(UInt8(ascii: "{")) else { return nil }
        while true {
            scanner.skipWhitespace()
            guard let name = scanner.string() else { return nil }
            scanner.skipWhitespace()
            guard scanner.take(UInt8(ascii: ":")) else { return nil }
            scanner.skipWhitespace()
            if body[name].elementsEqual(wanted) {
                guard let value = scanner.string(), !body[value].contains(UInt8(ascii: "\\")) else { return nil }
                return String(decoding: body[value], as: UTF8.self)
            }
            guard scanner.skipValue() else { return nil }
            scanner.skipWhitespace()
            if scanner.take(UInt8(ascii: ",")) { continue }
            return nil  // "}" ends the object without the member; anything else is malformed
        }
    }

    private struct Scanner {
        let bytes: [UInt8]
        var index = 0

        static func isWhitespace(_ byte: UInt8) -> Bool {
            byte == 32 || byte == 9 || byte == 10 || byte == 13
        }

        static func endsLiteral(_ byte: UInt8) -> Bool {
            isWhitespace(byte) || byte == UInt8(ascii: ",") || byte == UInt8(ascii: "}") || byte == UInt8(ascii: "]")
        }

        mutating func skipWhitespace() {
            while index < bytes.count, Self.isWhitespace(bytes[index]) { index += 1 }
        }

        mutating func take(_ byte: UInt8) -> Bool {
            guard index < bytes.count, bytes[index] == byte else { return false }
            index += 1
            return true
        }

        /// Consumes a string and returns the range of its raw contents.
        mutating func string() -> Range<Int>? {
            guard take(UInt8(ascii: "\"")) else { return nil }
            let start = index
            while index < bytes.count {
                switch bytes[index] {
                case UInt8(ascii: "\\"): index += 2
                case UInt8(ascii: "\""):
                    index += 1
                    return start..<(index - 1)
                default: index += 1
                }
            }
            return nil
        }

        /// Consumes any value: a string, a nested object or array, or a
        /// number/literal. Returns false when the input ends first.
        mutating func skipValue() -> Bool {
            guard index < bytes.count else { return false }
            switch bytes[index] {
            case UInt8(ascii: "\""):
                return string() != nil
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                var depth = 0
                while index < bytes.count {
                    switch bytes[index] {
                    case UInt8(ascii: "\""):
                        guard string() != nil else { return false }
                        continue
                    case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                    case UInt8(ascii: "}"), UInt8(ascii: "]"):
                        depth -= 1
                        if depth == 0 {
                            index += 1
                            return true
                        }
                    default: break
                    }
                    index += 1
                }
                return false
            default:
                let start = index
                while index < bytes.count, !Self.endsLiteral(bytes[index]) { index += 1 }
                return index > start
            }
        }
    }
}
