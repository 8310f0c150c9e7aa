import LockdHTTP

/// A content coding lockd can send.
public enum ContentCoding: String, Sendable, Equatable {
    /// The body as it is.
    case identity
    /// RFC 9110 §8.4.1.3's gzip (one RFC 1952 member).
    case gzip
}

/// What a request's `Accept-Encoding` fields allow, per RFC 9110 §12.5.3:
/// the weight each coding lockd knows was given, in thousandths.
///
/// Elements lockd cannot read (a bad token, a parameter other than `q`, a
/// `q` outside the `qvalue` grammar) are ignored, as if not sent; a coding
/// named twice keeps its lowest weight, so a refusal anywhere wins. `x-gzip`
/// is `gzip` (§8.4.1.3).
///
/// ```swift
/// AcceptEncoding(request.headers).preferred      // .gzip, .identity, or nil: nothing acceptable
/// AcceptEncoding(["gzip;q=0, identity"]).preferred == .identity
/// ```
public struct AcceptEncoding: Sendable, Equatable {
    /// Whether the request had an `Accept-Encoding` field at all.
    public var isPresent: Bool
    /// The weight given to `gzip` or `x-gzip`; nil when not named.
    public var gzip: Int?
    /// The weight given to `identity`; nil when not named.
    public var identity: Int?
    /// The weight given to `*`; nil when not named.
    public var wildcard: Int?

    /// Reads every `Accept-Encoding` field of `headers`.
    public init(_ headers: HTTPHeaders) {
        var accept = AcceptEncoding(isPresent: false)
        // Read as bytes where the headers keep them: made into strings and
        // split, the value of `Accept-Encoding: identity` cost ~34 k
        // instructions (generic comparisons and metadata lookups), and it is
        // read for every promised request (see `CompressingResponder`).
        headers.forEachValue(named: "accept-encoding") { value in
            accept.isPresent = true
            if !accept.read(plain: value) { accept.read(String(decoding: value, as: UTF8.self)) }
        }
        self = accept
    }

    /// Reads field values (each a comma-separated list) as if sent in one request.
    public init(_ fieldValues: [String], isPresent: Bool = true) {
        self.isPresent = isPresent
        for value in fieldValues {
            var value = value
            if !value.withUTF8({ read(plain: UnsafeRawBufferPointer($0)) }) { read(value) }
        }
    }

    private init(isPresent: Bool) {
        self.isPresent = isPresent
    }

    /// `value` read as a string only, as every value was before the byte
    /// reading: what tests hold ``read(plain:)`` to.
    init(readingAsString value: String) {
        self.isPresent = true
        read(value)
    }

    /// Reads one field value's list as a string: for a value ``read(plain:)`` leaves.
    private mutating func read(_ value: String) {
        for element in HTTPSyntax.listElements(value) {
            guard let (coding, weight) = Self.parse(element) else { continue }
            if HTTPSyntax.equalsIgnoringCase(coding.utf8, "gzip") || HTTPSyntax.equalsIgnoringCase(coding.utf8, "x-gzip") {
                gzip = min(gzip ?? weight, weight)
            } else if HTTPSyntax.equalsIgnoringCase(coding.utf8, "identity") {
                identity = min(identity ?? weight, weight)
            } else if coding == "*" {
                wildcard = min(wildcard ?? weight, weight)
            }
        }
    }

    /// Reads one field value's list from its bytes, exactly as ``read(_:)``
    /// reads it as a string (listed elements, each `coding *( OWS ";" OWS
    /// "q=" qvalue )`; empty and malformed ones ignored), in one pass and
    /// without making a string; false, having read nothing, when the value
    /// has a byte outside ASCII. Only such a byte can make a string's
    /// characters differ from its bytes (a combining mark after a `,` joins
    /// it into one character, no separator); among ASCII bytes only CR LF is
    /// one character of two, and neither is a separator or a space.
    /// A byte loop: the string reading cost ~34 k instructions for
    /// `identity`, and compression reads the field of every promised request.
    private mutating func read(plain value: UnsafeRawBufferPointer) -> Bool {
        guard let base = value.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return true }
        let end = value.count
        // The values clients send most, whole — `gzip` (Go's client) and
        // `identity` (Python's) — read as the loop below reads them (one
        // coding, no parameter: weight 1000), by one word, where the loop
        // cost ~0.1 k instructions (a promised request reads its field).
        // (Eight bytes may also be `gzip` and more, such as `gzip, br`: only
        // `identity` is taken whole there.)
        if end == 8 || end == 4 {
            switch (end, Self.leadingCoding(base, end)) {
            case (8, .identity):
                identity = min(identity ?? 1000, 1000)
                return true
            case (4, .gzip):
                gzip = min(gzip ?? 1000, 1000)
                return true
            default:
                break
            }
        }
        guard Self.isASCII(base, end) else { return false }
        var index = 0
        // One element a turn; `index` is at its start, or at the comma
        // before it (an empty element is skipped as listElements drops it).
        while index < end {
            if base[index] == UInt8(ascii: ",") { index &+= 1; continue }
            index = Self.skipSpaces(base, index, end)
            // Only the codings counted are read on: any other element,
            // well-formed or not, counts for nothing (so whether its coding
            // is a token does not matter, and a counted one is).
            var coding = Self.leadingCoding(base + index, end &- index)
            if coding == .other {
                let codingStart = index
                while index < end, !Self.endsCoding(base[index]) { index &+= 1 }
                coding = Self.coding(base + codingStart, index &- codingStart)
            } else {
                index &+= coding == .identity ? 8 : 4
            }
            guard coding != .other else {
                while index < end, base[index] != UInt8(ascii: ",") { index &+= 1 }
                continue
            }
            index = Self.skipSpaces(base, index, end)
            var weight: Int?
            var wellFormed = true
            // Parameters: each `q=` qvalue, and only one.
            while index < end, base[index] == UInt8(ascii: ";") {
                index = Self.skipSpaces(base, index &+ 1, end)
                guard weight == nil, end &- index >= 2, base[index] | 0x20 == UInt8(ascii: "q"), base[index &+ 1] == UInt8(ascii: "=")
                else { wellFormed = false; break }
                let valueStart = index &+ 2
                index = valueStart
                while index < end, !Self.endsCoding(base[index]) { index &+= 1 }
                weight = Self.qvalue(UnsafeRawBufferPointer(start: base + valueStart, count: index &- valueStart))
                if weight == nil { wellFormed = false; break }
                index = Self.skipSpaces(base, index, end)
            }
            if index < end, base[index] != UInt8(ascii: ",") { wellFormed = false }
            guard wellFormed else {
                // The rest of the element, whatever it holds, is ignored with it.
                while index < end, base[index] != UInt8(ascii: ",") { index &+= 1 }
                continue
            }
            let given = weight ?? 1000
            switch coding {
            case .gzip: gzip = min(gzip ?? given, given)
            case .identity: identity = min(identity ?? given, given)
            case .wildcard: wildcard = min(wildcard ?? given, given)
            case .other: break
            }
        }
        return true
    }

    /// A coding ``read(plain:)`` counts.
    private enum Coding { case gzip, identity, wildcard, other }

    /// `identity` or `gzip` when the `count` bytes at `start` begin with
    /// either, in any case, as a whole run (the value ends, or a space,
    /// comma or semicolon follows): told by one word each, without a loop
    /// over the run's bytes. `.other` when they do not (the run is read
    /// byte by byte then).
    @inline(__always)
    private static func leadingCoding(_ start: UnsafePointer<UInt8>, _ count: Int) -> Coding {
        let raw = UnsafeRawPointer(start)
        // Setting bit 0x20 of each byte gives these lower-case letters only
        // for those letters in either case.
        if count >= 8, UInt64(littleEndian: raw.loadUnaligned(as: UInt64.self)) | 0x2020_2020_2020_2020 == identityWord,
           count == 8 || endsCoding(start[8]) {
            return .identity
        }
        if count >= 4, UInt32(littleEndian: raw.loadUnaligned(as: UInt32.self)) | 0x2020_2020 == gzipWord, count == 4 || endsCoding(start[4]) {
            return .gzip
        }
        return .other
    }

    /// `identity`'s bytes as one little-endian word.
    private static let identityWord: UInt64 = 0x7974_6974_6E65_6469
    /// `gzip`'s bytes as one little-endian word.
    private static let gzipWord: UInt32 = 0x7069_7A67

    /// Which coding the `count` bytes at `start` name, in any case.
    @inline(__always)
    private static func coding(_ start: UnsafePointer<UInt8>, _ count: Int) -> Coding {
        switch count {
        case 1 where start[0] == UInt8(ascii: "*"): .wildcard
        case 4 where letters(start, equal: "gzip"): .gzip
        case 6 where start[0] | 0x20 == UInt8(ascii: "x") && start[1] == UInt8(ascii: "-") && letters(start + 2, equal: "gzip"): .gzip
        case 8 where letters(start, equal: "identity"): .identity
        default: .other
        }
    }

    /// Whether the bytes at `start` are the lower-case letters `lowercase`
    /// in any case: a byte with bit 0x20 set is a lower-case letter only
    /// when it was that letter or its upper case.
    @inline(__always)
    private static func letters(_ start: UnsafePointer<UInt8>, equal lowercase: StaticString) -> Bool {
        let expected = lowercase.utf8Start
        for index in 0..<lowercase.utf8CodeUnitCount where start[index] | 0x20 != expected[index] { return false }
        return true
    }

    /// Whether a coding's (or a qvalue's) run of bytes stops at `byte`.
    @inline(__always)
    private static func endsCoding(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: ",") || byte == UInt8(ascii: ";") || byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t")
    }

    /// Whether the `count` bytes at `base` are all ASCII: eight at a time.
    @inline(__always)
    private static func isASCII(_ base: UnsafePointer<UInt8>, _ count: Int) -> Bool {
        let raw = UnsafeRawPointer(base)
        var index = 0
        var high: UInt64 = 0
        while count &- index >= 8 {
            high |= raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            index &+= 8
        }
        while index < count {
            high |= UInt64(base[index])
            index &+= 1
        }
        return high & 0x8080_8080_8080_8080 == 0
    }

    /// The index of the first byte from `index` on that is not a space or tab.
    @inline(__always)
    private static func skipSpaces(_ base: UnsafePointer<UInt8>, _ index: Int, _ end: Int) -> Int {
        var index = index
        while index < end, base[index] == UInt8(ascii: " ") || base[index] == UInt8(ascii: "\t") { index &+= 1 }
        return index
    }

    /// The coding to answer with, or nil when the request refuses every
    /// coding lockd has (`identity;q=0`, `*;q=0`) and accepts no gzip.
    ///
    /// No field: identity (a client that says nothing may not decode gzip).
    /// Otherwise gzip when it is acceptable (named or under `*` with a
    /// non-zero weight) and `identity` was not given a higher weight; else
    /// identity, which is acceptable unless refused (rule 2 of §12.5.3).
    public var preferred: ContentCoding? {
        guard isPresent else { return .identity }
        let gzipWeight = gzip ?? wildcard ?? 0
        let identityWeight = identity ?? wildcard
        if gzipWeight > 0, gzipWeight >= identityWeight ?? 0 { return .gzip }
        if identityWeight ?? 1000 > 0 { return .identity }
        return nil
    }

    /// One list element, `coding *( OWS ";" OWS "q=" qvalue )`: the coding
    /// and its weight in thousandths; nil when malformed.
    private static func parse(_ element: Substring) -> (coding: Substring, weight: Int)? {
        var parts = element.split(separator: ";", omittingEmptySubsequences: false).makeIterator()
        guard let coding = parts.next()?.trimmingSpaces(), !coding.isEmpty, coding.utf8.allSatisfy(HTTPSyntax.isToken) else {
            return nil
        }
        var weight: Int?
        while let parameter = parts.next()?.trimmingSpaces() {
            // Only q is defined for Accept-Encoding, and once.
            let bytes = parameter.utf8
            guard weight == nil, bytes.count >= 2, HTTPSyntax.lowercased(bytes[bytes.startIndex]) == UInt8(ascii: "q"),
                  bytes[bytes.index(after: bytes.startIndex)] == UInt8(ascii: "="),
                  let value = qvalue(bytes.dropFirst(2))
            else { return nil }
            weight = value
        }
        return (coding, weight ?? 1000)
    }

    /// RFC 9110 §12.4.2: `( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`, in thousandths.
    static func qvalue(_ text: some Collection<UInt8>) -> Int? {
        guard let lead = text.first, lead == UInt8(ascii: "0") || lead == UInt8(ascii: "1") else { return nil }
        var rest = text.dropFirst()
        var value = lead == UInt8(ascii: "1") ? 1000 : 0
        guard let dot = rest.first else { return value }
        guard dot == UInt8(ascii: "."), rest.count <= 4 else { return nil }
        rest = rest.dropFirst()
        var scale = 100
        for digit in rest {
            guard digit >= UInt8(ascii: "0"), digit <= UInt8(ascii: "9") else { return nil }
            value += Int(digit - UInt8(ascii: "0")) * scale
            scale /= 10
        }
        return value <= 1000 ? value : nil
    }
}
