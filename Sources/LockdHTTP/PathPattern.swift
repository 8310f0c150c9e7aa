/// A route's path, parsed once: literal segments and `{name}` parameters.
struct PathPattern: Sendable {
    enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(String)
    }

    let segments: [Segment]
    /// Each literal segment's bytes (empty for a parameter), compared with
    /// the path's without going through a `String.UTF8View`.
    private let literals: [[UInt8]]

    /// The parameter names in order of appearance (kept: a route reads
    /// them on every request, and making the array is an allocation).
    let parameterNames: [String]

    init(_ pattern: String) {
        segments = pattern.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map { part in
            if part.hasPrefix("{"), part.hasSuffix("}"), part.count > 2 {
                return .parameter(String(part.dropFirst().dropLast()))
            }
            return .literal(String(part))
        }
        literals = segments.map { if case .literal(let text) = $0 { Array(text.utf8) } else { [] } }
        parameterNames = segments.compactMap { if case .parameter(let name) = $0 { name } else { nil } }
    }

    /// How many segments a path of `bytes` has (its `/`s): a pattern with another
    /// count cannot match it, which the router checks before matching.
    static func depth(of bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var depth = 0
        for byte in bytes where byte == UInt8(ascii: "/") { depth += 1 }
        return depth
    }

    /// The raw (still percent-encoded) parameter values when the path
    /// `original`, whose bytes are `bytes`, matches.
    ///
    /// Walks the path's bytes (the router borrows them once for every
    /// pattern): a `String.UTF8View`'s `firstIndex` and `elementsEqual`
    /// cost several times more per byte.
    func match(_ bytes: UnsafeBufferPointer<UInt8>, of original: String) -> [Substring]? {
        guard bytes.first == UInt8(ascii: "/") else { return nil }
        var values: [Substring] = []
        var start = 1
        for (index, segment) in segments.enumerated() {
            var end = start
            while end < bytes.count, bytes[end] != UInt8(ascii: "/") { end += 1 }
            let isLast = index == segments.count - 1
            // Segments must line up exactly: no missing and no extra ones.
            guard isLast ? end == bytes.count : end != bytes.count else { return nil }
            let part = UnsafeBufferPointer(rebasing: bytes[start..<end])
            switch segment {
            case .literal:
                // A plain loop: `elementsEqual` of a buffer and an array
                // is not specialized well (~100 instructions a segment).
                let literal = literals[index]
                guard part.count == literal.count else { return nil }
                for offset in 0..<part.count where part[offset] != literal[offset] { return nil }
            case .parameter:
                guard !part.isEmpty else { return nil }
                let utf8 = original.utf8
                values.append(Substring(utf8[utf8.index(utf8.startIndex, offsetBy: start)..<utf8.index(utf8.startIndex, offsetBy: end)]))
            }
            start = end + 1
        }
        return values
    }
}

/// The percent-decoding rule of ``Router``: `%XX` becomes that byte, every
/// other byte stays, and the result must be UTF-8.
enum PercentDecoding {
    /// The decoded text, or nil for a bad escape or bytes that are not UTF-8.
    static func decode(_ raw: Substring) -> String? {
        // Through contiguous storage: a Substring's `utf8.contains` walks it byte by byte, several times slower.
        let escaped = raw.utf8.withContiguousStorageIfAvailable { $0.contains(UInt8(ascii: "%")) } ?? raw.utf8.contains(UInt8(ascii: "%"))
        guard escaped else { return String(raw) }
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
