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

    /// The whole path a pattern without parameters matches (`/` and its
    /// literals joined by `/`): such a pattern matches exactly these bytes,
    /// so a path of another length is ruled out at once (a segment-by-segment
    /// match cost ~110 instructions a route tried).
    private let exact: [UInt8]?

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
        exact = parameterNames.isEmpty && !segments.isEmpty ? Array(("/" + segments.map { if case .literal(let text) = $0 { text } else { "" } }.joined(separator: "/")).utf8) : nil
    }

    /// How many segments a path of `bytes` has (its `/`s): a pattern with another
    /// count cannot match it, which the router checks before matching.
    static func depth(of bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var depth = 0
        for byte in bytes where byte == UInt8(ascii: "/") { depth += 1 }
        return depth
    }

    /// Whether the path whose bytes are `bytes` matches: as many segments,
    /// literal ones byte for byte, parameters not empty.
    ///
    /// Walks the path's bytes (the router borrows them once for every
    /// pattern) and allocates nothing: a `String.UTF8View`'s `firstIndex`
    /// and `elementsEqual` cost several times more per byte.
    func matches(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let exact else { return matchesBySegment(bytes) }
        guard bytes.count == exact.count else { return false }
        for offset in 0..<bytes.count where bytes[offset] != exact[offset] { return false }
        return true
    }

    /// Whether `bytes` match segment by segment (the rule ``matches(_:)``
    /// follows; it takes a shortcut for a pattern without parameters).
    func matchesBySegment(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        everySegment(of: bytes) { index, part in
            switch segments[index] {
            case .literal:
                // A plain loop: `elementsEqual` of a buffer and an array
                // is not specialized well (~100 instructions a segment).
                let literal = literals[index]
                guard part.count == literal.count else { return false }
                for offset in 0..<part.count where part[offset] != literal[offset] { return false }
                return true
            case .parameter:
                return !part.isEmpty
            }
        }
    }

    /// A parameter segment that is not a valid percent-encoding of UTF-8.
    struct InvalidSegment: Error {
        let name: String
    }

    /// The parameters of a path that ``matches(_:)``, percent-decoded from its bytes.
    func parameters(of bytes: UnsafeBufferPointer<UInt8>) -> Result<PathParameters, InvalidSegment> {
        var parameters = PathParameters()
        if parameterNames.isEmpty { return .success(parameters) }
        var invalid: String?
        _ = everySegment(of: bytes) { index, part in
            guard case .parameter(let name) = segments[index] else { return true }
            guard let value = PercentDecoding.decode(part) else {
                invalid = name
                return false
            }
            parameters.append(name: name, value: value)
            return true
        }
        if let invalid { return .failure(InvalidSegment(name: invalid)) }
        return .success(parameters)
    }

    /// Whether the path has as many segments as the pattern and `body`
    /// accepts each (its index and bytes), in order; stops at the first it refuses.
    private func everySegment(
        of bytes: UnsafeBufferPointer<UInt8>, _ body: (Int, UnsafeBufferPointer<UInt8>) -> Bool
    ) -> Bool {
        guard bytes.first == UInt8(ascii: "/") else { return false }
        var start = 1
        for index in segments.indices {
            var end = start
            while end < bytes.count, bytes[end] != UInt8(ascii: "/") { end += 1 }
            let isLast = index == segments.count - 1
            // Segments must line up exactly: no missing and no extra ones.
            guard isLast ? end == bytes.count : end != bytes.count else { return false }
            guard body(index, UnsafeBufferPointer(rebasing: bytes[start..<end])) else { return false }
            start = end + 1
        }
        return true
    }
}

/// The percent-decoding rule of ``Router``: `%XX` becomes that byte, every
/// other byte stays, and the result must be UTF-8.
enum PercentDecoding {
    /// The decoded text of one segment's bytes, or nil for a bad escape or
    /// bytes that are not UTF-8. The bytes are a piece of a `String`'s split
    /// at `/` (ASCII), so without an escape they are UTF-8 already.
    static func decode(_ raw: UnsafeBufferPointer<UInt8>) -> String? {
        guard HTTPSyntax.firstIndex(of: UInt8(ascii: "%"), in: UnsafeRawBufferPointer(raw)) != nil else {
            return String(decoding: raw, as: UTF8.self)
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(raw.count)
        var iterator = raw.makeIterator()
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
