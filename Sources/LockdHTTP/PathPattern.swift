/// A route's path, parsed once: literal segments and `{name}` parameters.
struct PathPattern: Sendable {
    enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(String)
    }

    let segments: [Segment]

    /// The parameter names in order of appearance.
    var parameterNames: [String] {
        segments.compactMap { if case .parameter(let name) = $0 { name } else { nil } }
    }

    init(_ pattern: String) {
        segments = pattern.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map { part in
            if part.hasPrefix("{"), part.hasSuffix("}"), part.count > 2 {
                return .parameter(String(part.dropFirst().dropLast()))
            }
            return .literal(String(part))
        }
    }

    /// The raw (still percent-encoded) parameter values when `path` matches.
    func match(_ path: String) -> [Substring]? {
        guard path.first == "/" else { return nil }
        var values: [Substring] = []
        var rest = path.utf8.dropFirst()
        for (index, segment) in segments.enumerated() {
            let end = rest.firstIndex(of: UInt8(ascii: "/")) ?? rest.endIndex
            let part = rest[..<end]
            let isLast = index == segments.count - 1
            // Segments must line up exactly: no missing and no extra ones.
            guard isLast ? end == rest.endIndex : end != rest.endIndex else { return nil }
            switch segment {
            case .literal(let literal):
                guard part.elementsEqual(literal.utf8) else { return nil }
            case .parameter:
                guard !part.isEmpty else { return nil }
                values.append(Substring(part))
            }
            if !isLast { rest = rest[rest.index(after: end)...] }
        }
        return values
    }
}

/// The percent-decoding rule of ``Router``: `%XX` becomes that byte, every
/// other byte stays, and the result must be UTF-8.
enum PercentDecoding {
    /// The decoded text, or nil for a bad escape or bytes that are not UTF-8.
    static func decode(_ raw: Substring) -> String? {
        guard raw.utf8.contains(UInt8(ascii: "%")) else { return String(raw) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(raw.utf8.count)
        var iterator = raw.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(HTTPSyntax.hexValue),
                  let low = iterator.next().flatMap(HTTPSyntax.hexValue)
            else { return nil }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }
}
