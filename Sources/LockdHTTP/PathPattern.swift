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

    /// For a pattern with parameters: `/` and its segments joined by `/`,
    /// each parameter written as one ``parameterMarker`` — the whole
    /// pattern in one array, which ``match(_:ranges:)`` walks beside the
    /// path once, noting where each parameter's segment is. Segment by
    /// segment, then again to bind the parameters, a lock path cost ~0.4 k
    /// instructions more (each segment's literal an array of its own, read
    /// out and retained).
    private let template: [UInt8]
    /// Stands for a parameter in ``template``: a request's path never holds
    /// it (the decoder refuses control bytes), nor does a route's literal.
    static let parameterMarker: UInt8 = 0

    init(_ pattern: String) {
        segments = pattern.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map { part in
            if part.hasPrefix("{"), part.hasSuffix("}"), part.count > 2 {
                return .parameter(String(part.dropFirst().dropLast()))
            }
            return .literal(String(part))
        }
        literals = segments.map { if case .literal(let text) = $0 { Array(text.utf8) } else { [] } }
        parameterNames = segments.compactMap { if case .parameter(let name) = $0 { name } else { nil } }
        template = parameterNames.isEmpty ? [] : segments.flatMap { segment -> [UInt8] in
            switch segment {
            case .literal(let text):
                precondition(!text.utf8.contains(Self.parameterMarker), "a route's path has a NUL byte")
                return [UInt8(ascii: "/")] + Array(text.utf8)
            case .parameter: return [UInt8(ascii: "/"), Self.parameterMarker]
            }
        }
        exact = parameterNames.isEmpty && !segments.isEmpty ? Array(("/" + segments.map { if case .literal(let text) = $0 { text } else { "" } }.joined(separator: "/")).utf8) : nil
    }

    /// How many segments a path of `bytes` has (its `/`s): a pattern with another
    /// count cannot match it, which the router checks before matching.
    @inline(__always)
    static func depth(of bytes: UnsafeBufferPointer<UInt8>) -> Int {
        // Eight bytes at a time, their slashes counted at once; the last
        // few as the top bytes of the path's last eight (a test and a
        // branch per byte cost ~5 instructions a byte of every path).
        let raw = UnsafeRawBufferPointer(bytes)
        guard raw.count >= 8 else {
            var depth = 0
            for byte in raw where byte == UInt8(ascii: "/") { depth &+= 1 }
            return depth
        }
        var depth = 0, offset = 0
        while true {
            var word = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: Swift.min(offset, raw.count &- 8), as: UInt64.self))
            let rest = raw.count &- offset
            // Bytes counted already (the word overlaps them) shifted out: a zero is no slash.
            if rest < 8 { word >>= UInt64(truncatingIfNeeded: (8 &- rest) &* 8) }
            let slashes = HTTPSyntax.bytes(of: word, equalTo: UInt8(ascii: "/"))
            // The flags (one a byte) summed by a multiplication into the top
            // byte: `nonzeroBitCount` is a long sequence without POPCNT.
            depth &+= Int(truncatingIfNeeded: ((slashes >> 7) &* 0x0101_0101_0101_0101) >> 56)
            offset &+= 8
            if offset >= raw.count { return depth }
        }
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
        // Eight bytes at a time (a byte loop cost ~5 instructions a byte).
        return exact.withUnsafeBytes { HTTPSyntax.bytes(UnsafeRawBufferPointer(bytes), equal: $0) }
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

    /// Where a path's parameter segments are, noted by ``match(_:ranges:)``:
    /// the first two kept inline (every route of lockd's has one or two),
    /// any after them found again by ``parameters(of:)``.
    struct ParameterRanges {
        var count = 0
        var first = 0..<0
        var second = 0..<0
    }

    /// Whether the path of `bytes` matches (as ``matches(_:)``), noting in
    /// `ranges` where its parameters' segments are: one walk for both.
    @inline(__always)
    func match(_ bytes: UnsafeBufferPointer<UInt8>, ranges: inout ParameterRanges) -> Bool {
        guard !template.isEmpty else { return matches(bytes) }
        return template.withUnsafeBufferPointer { Self.match(bytes, template: $0, ranges: &ranges) }
    }

    /// The walk of ``match(_:ranges:)``: the template's bytes equal the
    /// path's, but for a marker, which takes the path's next segment (at
    /// least one byte, up to the next `/` or the end); both end together.
    ///
    /// Eight bytes at a time where both have eight left: a literal run is
    /// compared a word at a time up to the template's next marker, and a
    /// parameter's segment is searched for its `/` a word at a time. Byte
    /// by byte, a lock's path cost ~13 instructions a literal byte and ~5 a
    /// byte of its name (~0.16 k instructions a request).
    @inline(__always)
    static func match(
        _ bytes: UnsafeBufferPointer<UInt8>, template: UnsafeBufferPointer<UInt8>, ranges: inout ParameterRanges
    ) -> Bool {
        let path = UnsafeRawBufferPointer(bytes), pattern = UnsafeRawBufferPointer(template)
        let count = path.count, patternCount = pattern.count
        var offset = 0, index = 0
        while index < patternCount {
            if patternCount &- index >= 8, count &- offset >= 8 {
                let expected = UInt64(littleEndian: pattern.loadUnaligned(fromByteOffset: index, as: UInt64.self))
                let actual = UInt64(littleEndian: path.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
                // The literal bytes before the word's first marker (all
                // eight without one) must be the path's.
                let markers = HTTPSyntax.zeroBytes(expected)
                let literal = markers == 0 ? 8 : markers.trailingZeroBitCount >> 3
                // (None when a marker comes first: taken below.)
                if literal > 0 {
                    let equal = (expected ^ actual).trailingZeroBitCount >> 3
                    guard equal >= literal else { return false }
                    offset &+= literal
                    index &+= literal
                    continue
                }
            }
            let expected = pattern[index]
            index &+= 1
            if expected == parameterMarker {
                let start = offset
                offset = nextSlash(in: path, from: offset)
                guard offset > start else { return false }
                switch ranges.count {
                case 0: ranges.first = start..<offset
                case 1: ranges.second = start..<offset
                default: break
                }
                ranges.count &+= 1
            } else {
                guard offset < count, path[offset] == expected else { return false }
                offset &+= 1
            }
        }
        return offset == count
    }

    /// Where the first `/` at or after `start` in `path` is; `path.count` when there is none.
    @inline(__always)
    static func nextSlash(in path: UnsafeRawBufferPointer, from start: Int) -> Int {
        let slash = UInt8(ascii: "/")
        var offset = start
        while path.count &- offset >= 8 {
            let flags = HTTPSyntax.bytes(of: UInt64(littleEndian: path.loadUnaligned(fromByteOffset: offset, as: UInt64.self)), equalTo: slash)
            if flags != 0 { return offset &+ flags.trailingZeroBitCount >> 3 }
            offset &+= 8
        }
        let rest = path.count &- offset
        guard rest > 0 else { return offset }
        guard path.count >= 8 else {
            while offset < path.count, path[offset] != slash { offset &+= 1 }
            return offset
        }
        // The last few as the top bytes of the path's last eight, the
        // bytes before `offset` shifted out (a zero is no slash).
        let word = UInt64(littleEndian: path.loadUnaligned(fromByteOffset: path.count &- 8, as: UInt64.self)) >> UInt64(truncatingIfNeeded: (8 &- rest) &* 8)
        let flags = HTTPSyntax.bytes(of: word, equalTo: slash)
        return flags == 0 ? path.count : offset &+ flags.trailingZeroBitCount >> 3
    }

    /// The parameters of a path that ``match(_:ranges:)`` matched,
    /// percent-decoded from its bytes where `ranges` says they are.
    func parameters(of bytes: UnsafeBufferPointer<UInt8>, ranges: ParameterRanges) -> Result<PathParameters, InvalidSegment> {
        switch ranges.count {
        case 1: return Self.parameters(of: bytes, ranges: ranges, first: parameterNames[0], second: nil)
        case 2: return Self.parameters(of: bytes, ranges: ranges, first: parameterNames[0], second: parameterNames[1])
        default: return parameters(of: bytes)
        }
    }

    /// The parameters named `first` and `second` (one or two, as `ranges`
    /// has) of a path's `bytes`, percent-decoded: static, so that a router
    /// binding them reads the pattern's names alone (calling a method on a
    /// pattern read out of its route copied all five of its arrays, ~0.2 k
    /// instructions with their releases). The names, not the pattern's
    /// array of them: an array handed over from a route read in place was
    /// retained around the call and released after (~40 instructions a
    /// lock request); a name is copied once, and given (consumed) to the
    /// parameters. Out of line: inlined, it grew the router's lookup, and a
    /// route without parameters (`/healthz`) paid ~17 instructions for it.
    @inline(never)
    static func parameters(
        of bytes: UnsafeBufferPointer<UInt8>, ranges: ParameterRanges, first: consuming String, second: consuming String?
    ) -> Result<PathParameters, InvalidSegment> {
        var parameters = PathParameters()
        guard let value = PercentDecoding.decode(UnsafeBufferPointer(rebasing: bytes[ranges.first])) else {
            return .failure(InvalidSegment(name: first))
        }
        parameters.append(name: first, value: value)
        if let second {
            guard let value = PercentDecoding.decode(UnsafeBufferPointer(rebasing: bytes[ranges.second])) else {
                return .failure(InvalidSegment(name: second))
            }
            parameters.append(name: second, value: value)
        }
        return .success(parameters)
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
            // A short segment (a lock name of up to 15 bytes) copied into a
            // string's own room: `String(decoding:)` costs ~75 instructions
            // more there (its repairing pass and checks before the small
            // form), and ~50 fewer above, where the string is allocated.
            guard raw.count <= 15 else { return String(decoding: raw, as: UTF8.self) }
            return String(unsafeUninitializedCapacity: raw.count) { room in
                UnsafeMutableRawBufferPointer(room).copyMemory(from: UnsafeRawBufferPointer(raw))
                return raw.count
            }
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
