/// A lease's secret: only its holder knows it, and renew and release must
/// present it.
///
/// Server-made tokens carry 192 bits from the system CSPRNG, written as
/// base64url without padding. Clients may choose their own (22–128 characters
/// of `[A-Za-z0-9_-]`) to make acquire retry-safe. `description` never shows
/// the token, so interpolating one into a log line leaks nothing.
public struct LeaseToken: Hashable, Sendable, CustomStringConvertible {
    /// A token of 32 characters — every server-made one — is kept as the 24
    /// bytes its base64url encodes (32 characters of the token alphabet
    /// always encode exactly 24 bytes, and only one text encodes them, so
    /// either form is one token): a fresh token then needs no `String`
    /// (allocated, its UTF-8 checked: ~0.9 k instructions an acquire), and
    /// the acquire's and lease's copies of it no reference counting. Any
    /// other length is kept as its text.
    private enum Form: Sendable {
        case bytes(UInt64, UInt64, UInt64)
        case text(String)
    }

    private let form: Form

    /// How many characters the base64url of 24 bytes has.
    private static let encodedCount = 32

    /// The most characters a token has.
    public static let maxCount = 128

    /// The token's text. Never log it.
    public var value: String {
        switch form {
        case .text(let text): text
        case .bytes: withUTF8 { String(decoding: $0, as: UTF8.self) }
        }
    }

    /// Calls `body` with the token's text as UTF-8 (written on the stack
    /// for a token kept as bytes).
    public func withUTF8<Result>(_ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
        if case .text(var text) = form { return text.withUTF8(body) }
        var characters: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)  // 32 bytes
        return withUnsafeMutableBytes(of: &characters) { raw in
            let base = raw.baseAddress.unsafelyUnwrapped.assumingMemoryBound(to: UInt8.self)  // a tuple's bytes have an address
            return body(UnsafeBufferPointer(start: base, count: write(to: base)))
        }
    }

    /// How many characters (bytes) the token's text has.
    public var count: Int {
        switch form {
        case .text(let text): text.utf8.count
        case .bytes: Self.encodedCount
        }
    }

    /// Writes the token's text at `position` (room for ``count`` bytes)
    /// and returns how many bytes it wrote: a body or a store's call takes
    /// the characters without a `String` made for them.
    public func write(to position: UnsafeMutablePointer<UInt8>) -> Int {
        switch form {
        case .text(var text):
            return text.withUTF8 { utf8 in
                if let base = utf8.baseAddress { position.update(from: base, count: utf8.count) }
                return utf8.count
            }
        case .bytes(let first, let second, let third):
            Base64URL.encode24((first, second, third), to: position)
            return Self.encodedCount
        }
    }

    /// Validates a client-presented token.
    /// - Throws: ``LockError/invalidRequest(_:)`` when it is malformed.
    public init(_ text: String) throws(LockError) {
        var text = text
        // Through `withUTF8`: `utf8.allSatisfy` walks a String's view byte
        // by byte, several times slower (on every renew and release).
        let (valid, words) = text.withUTF8 { Self.read($0) }
        guard valid else { throw Self.malformed }
        form = words.map { .bytes($0.0, $0.1, $0.2) } ?? .text(text)
    }

    /// Validates a client-presented token given as its bytes (a header's
    /// value, read in place: a token of 32 characters needs no `String`).
    /// - Throws: ``LockError/invalidRequest(_:)`` when it is malformed.
    public init(utf8: UnsafeBufferPointer<UInt8>) throws(LockError) {
        guard let token = Self(checking: utf8) else { throw Self.malformed }
        self = token
    }

    /// ``init(utf8:)`` for a caller that cannot throw where it reads the
    /// bytes (a header's value lent to a closure): nil when they are no
    /// token, for which ``malformed`` is the error to answer.
    public init?(checking utf8: UnsafeBufferPointer<UInt8>) {
        let (valid, words) = Self.read(utf8)
        guard valid else { return nil }
        form = words.map { .bytes($0.0, $0.1, $0.2) } ?? .text(String(decoding: utf8, as: UTF8.self))
    }

    /// The error for bytes that are no token.
    public static var malformed: LockError { .invalidRequest("a lease token is 22–128 characters of A-Z a-z 0-9 _ -") }

    /// Whether `utf8` is a token, and the bytes 32 characters encode.
    private static func read(_ utf8: UnsafeBufferPointer<UInt8>) -> (valid: Bool, words: (UInt64, UInt64, UInt64)?) {
        // 32 characters are read once, checked as they are decoded.
        if utf8.count == encodedCount {
            let words = Base64URL.decode24(utf8)
            return (words != nil, words)
        }
        return ((22...maxCount).contains(utf8.count) && utf8.allSatisfy(isTokenByte), nil)
    }

    private init(form: Form) { self.form = form }

    /// A fresh token of 192 random bits.
    public static func random() -> LeaseToken {
        // From a pool filled 4 KiB at a time: `SystemRandomNumberGenerator`
        // asks the kernel once per 8 bytes, `arc4random_buf` once per call.
        var bytes: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &bytes) { EntropyPool.shared.fill($0) }
        return LeaseToken(form: .bytes(bytes.0, bytes.1, bytes.2))
    }

    /// Compares in time independent of where the tokens differ, so response
    /// timing reveals nothing about a stored token (only how long the
    /// shorter one is). Texts are read in place, eight bytes at a time
    /// (copied into arrays and compared byte by byte, a release's two
    /// comparisons cost ~1 k instructions).
    public static func == (lhs: LeaseToken, rhs: LeaseToken) -> Bool {
        switch (lhs.form, rhs.form) {
        case (.bytes(let a0, let a1, let a2), .bytes(let b0, let b1, let b2)):
            return (a0 ^ b0) | (a1 ^ b1) | (a2 ^ b2) == 0
        case (.text(let left), .text(let right)):
            return equalInConstantTime(left, right)
        default:
            // 32 characters against another length.
            return false
        }
    }

    private static func equalInConstantTime(_ left: String, _ right: String) -> Bool {
        var left = left
        var right = right
        return left.withUTF8 { left in
            right.withUTF8 { right in
                var difference = UInt64(truncatingIfNeeded: left.count ^ right.count)
                let common = min(left.count, right.count)
                var index = 0
                if let leftBase = left.baseAddress, let rightBase = right.baseAddress {
                    let leftBytes = UnsafeRawPointer(leftBase), rightBytes = UnsafeRawPointer(rightBase)
                    while common - index >= 8 {
                        difference |= leftBytes.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                            ^ rightBytes.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                        index += 8
                    }
                }
                while index < common {
                    difference |= UInt64(left[index] ^ right[index])
                    index += 1
                }
                return difference == 0
            }
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch form {
        case .bytes(let first, let second, let third):
            hasher.combine(first)
            hasher.combine(second)
            hasher.combine(third)
        case .text(let text):
            hasher.combine(text)
        }
    }

    public var description: String { "<redacted token>" }

    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
            true
        default:
            false
        }
    }
}

/// Base64url without padding (RFC 4648 §5).
enum Base64URL {
    private static let alphabet: StaticString = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

    static func encode(_ bytes: UnsafeRawBufferPointer) -> String {
        String(unsafeUninitializedCapacity: (bytes.count * 4 + 2) / 3) { output in
            guard let base = output.baseAddress else { return 0 }  // no bytes, no characters
            return encode(bytes, to: base)
        }
    }

    /// Writes the base64url of `bytes` at `output` (room for
    /// `(bytes.count * 4 + 2) / 3` bytes); returns how many it wrote.
    static func encode(_ bytes: UnsafeRawBufferPointer, to output: UnsafeMutablePointer<UInt8>) -> Int {
        let alphabet = alphabet.utf8Start
        var written = 0
        var index = 0
        // Whole groups: 3 bytes → 4 characters.
        while bytes.count - index >= 3 {
            let word = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
            output[written] = alphabet[Int(word >> 18)]
            output[written + 1] = alphabet[Int(word >> 12 & 0x3F)]
            output[written + 2] = alphabet[Int(word >> 6 & 0x3F)]
            output[written + 3] = alphabet[Int(word & 0x3F)]
            written += 4
            index += 3
        }
        // A last 1 or 2 bytes → 2 or 3 characters, no padding.
        let rest = bytes.count - index
        if rest > 0 {
            let word = UInt32(bytes[index]) << 16 | (rest == 2 ? UInt32(bytes[index + 1]) << 8 : 0)
            for position in 0...rest {
                output[written] = alphabet[Int((word >> (18 - 6 * position)) & 0x3F)]
                written += 1
            }
        }
        return written
    }

    /// Writes the 32 characters of the 24 bytes `words` hold (in memory
    /// order, as ``decode24(_:)`` gives them): ``encode(_:to:)`` of those
    /// bytes, unrolled. The bytes read as one 192-bit big-endian number,
    /// character `i` is its bits 6i to 6i + 5 from the top, so each is a
    /// shift and a mask of one word (two for the two that straddle words),
    /// where the general loop gathered each group of three bytes from
    /// memory (~0.28 k instructions a token, on every grant's answer).
    static func encode24(_ words: (UInt64, UInt64, UInt64), to output: UnsafeMutablePointer<UInt8>) {
        let alphabet = alphabet.utf8Start
        let high = words.0.bigEndian, middle = words.1.bigEndian, low = words.2.bigEndian
        @inline(__always) func put(_ index: Int, _ sextet: UInt64) {
            output[index] = alphabet[Int(truncatingIfNeeded: sextet & 0x3F)]
        }
        // Bits 0–59 of the top word: characters 0–9.
        for index in 0..<10 { put(index, high >> UInt64(58 - 6 * index)) }
        // Its last 4 bits and the middle word's first 2.
        put(10, high << 2 | middle >> 62)
        // Bits 2–61 of the middle word: characters 11–20.
        for index in 11..<21 { put(index, middle >> UInt64(58 - 6 * (index - 11) - 2)) }
        // Its last 2 bits and the low word's first 4.
        put(21, middle << 4 | low >> 60)
        // Bits 4–63 of the low word: characters 22–31.
        for index in 22..<32 { put(index, low >> UInt64(58 - 6 * (index - 22) - 4)) }
    }

    /// The 24 bytes that 32 characters of the alphabet encode, as three
    /// words in memory order (``encode(_:to:)`` of their bytes gives the
    /// characters back); nil when `text` is not 32 characters of the alphabet.
    static func decode24(_ text: UnsafeBufferPointer<UInt8>) -> (UInt64, UInt64, UInt64)? {
        guard text.count == 32 else { return nil }
        var words: (UInt64, UInt64, UInt64) = (0, 0, 0)
        // Any character outside the alphabet sets bit 6 of `invalid`.
        var invalid: UInt32 = 0
        sextets.withUnsafeBufferPointer { sextets in
            withUnsafeMutableBytes(of: &words) { bytes in
                var written = 0
                var index = 0
                while index < 32 {
                    let a = UInt32(sextets[Int(text[index])]), b = UInt32(sextets[Int(text[index + 1])])
                    let c = UInt32(sextets[Int(text[index + 2])]), d = UInt32(sextets[Int(text[index + 3])])
                    invalid |= a | b | c | d
                    let word = a << 18 | b << 12 | c << 6 | d
                    bytes[written] = UInt8(truncatingIfNeeded: word >> 16)
                    bytes[written + 1] = UInt8(truncatingIfNeeded: word >> 8)
                    bytes[written + 2] = UInt8(truncatingIfNeeded: word)
                    written += 3
                    index += 4
                }
            }
        }
        return invalid & 0x40 == 0 ? words : nil
    }

    /// Each byte's six bits in the alphabet; 0x40 for a byte outside it.
    private static let sextets: [UInt8] = {
        var table = [UInt8](repeating: 0x40, count: 256)
        for (value, character) in UnsafeBufferPointer(start: alphabet.utf8Start, count: alphabet.utf8CodeUnitCount).enumerated() {
            table[Int(character)] = UInt8(value)
        }
        return table
    }()
}
