import LockEngine

/// A URL query (`a=1&b=two`) split and percent-decoded; `+` means a space,
/// as HTML forms write it.
struct QueryParameters {
    private var values: [String: String] = [:]

    /// Parses `query`, accepting only the `allowed` names, each at most once.
    /// - Throws: ``LockError/invalidRequest(_:)`` naming the bad parameter.
    init(_ query: String?, allowed: [String]) throws(LockError) {
        guard let query, !query.isEmpty else { return }
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = Self.decode(parts[0]), let value = Self.decode(parts.count > 1 ? parts[1] : "") else {
                throw .invalidRequest("query parameter '\(parts[0])' has an invalid percent-escape")
            }
            guard allowed.contains(name) else {
                throw .invalidRequest("unknown query parameter '\(name)'; allowed: \(allowed.joined(separator: ", "))")
            }
            guard values.updateValue(value, forKey: name) == nil else {
                throw .invalidRequest("query parameter '\(name)' appears more than once")
            }
        }
    }

    subscript(name: String) -> String? { values[name] }

    private static func decode(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "+"):
                bytes.append(UInt8(ascii: " "))
            case UInt8(ascii: "%"):
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else { return nil }
                bytes.append(high << 4 | low)
            default:
                bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
