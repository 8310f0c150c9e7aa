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
        self.init(headers.values(for: "Accept-Encoding"), isPresent: headers.contains("Accept-Encoding"))
    }

    /// Reads field values (each a comma-separated list) as if sent in one request.
    public init(_ fieldValues: [String], isPresent: Bool = true) {
        self.isPresent = isPresent
        for value in fieldValues {
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
