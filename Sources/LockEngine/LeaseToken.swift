/// A lease's secret: only its holder knows it, and renew and release must
/// present it.
///
/// Server-made tokens carry 192 bits from the system CSPRNG: 32 characters
/// of the base64url alphabet. Clients may choose their own (22–128 characters
/// of `[A-Za-z0-9_-]`) to make acquire retry-safe. `description` never shows
/// the token, so interpolating one into a log line leaks nothing.
public struct LeaseToken: Hashable, Sendable, CustomStringConvertible {
    /// A token of 22–32 characters — every server-made one (32), the SDK's
    /// (22), a UUID's hex (32) — is kept as its text's bytes, in four words
    /// with zero bytes past the text (no token byte is zero, so the words
    /// tell the length): a fresh token then needs no `String` (allocated,
    /// its UTF-8 checked: ~0.9 k instructions an acquire), its copies no
    /// reference counting, and its text is written — to a store's call, to
    /// the grant's JSON — by storing words. Kept as the 24 bytes its
    /// base64url encodes, the text was made again for each of those
    /// (~0.16 k instructions each), and a presented token decoded (~0.27 k)
    /// only to be encoded again for the store. A client's token of 22
    /// characters kept as its text cost an in-memory lock request ~0.4 k
    /// instructions more (its `String`, a byte-by-byte check, a compare of
    /// texts). A longer token is kept as its bytes in an array of their own
    /// (``Form/long(_:)``): words for 128 characters would grow every live
    /// lease.
    ///
    /// The last character is kept as a ``LastCharacter``: an enum's unused
    /// values let `Form` tell its cases apart without a byte of its own, so
    /// a token stays 32 bytes (four words with a tag byte came to 40 with
    /// padding: in every lease the stores and the lease ledger keep), and
    /// its copies are moves of words (at 33 bytes the compiler copied
    /// through the type's runtime value witnesses).
    ///
    /// `@usableFromInline`, with ``LastCharacter`` and ``words(_:_:_:_:_:_:_:)``,
    /// so that ``write(to:)`` and ``count`` inline into other modules: called,
    /// the grant's JSON spent ~80 instructions on the token's 32 bytes (two
    /// calls, each switching on the form and storing what it passed through).
    @usableFromInline
    enum Form: Sendable {
        case characters(UInt64, UInt64, UInt64, UInt32, UInt16, UInt8, LastCharacter)
        /// A token of 33–128 characters (a UUID with dashes, 36; Python's
        /// `secrets.token_urlsafe()`, 43): its text's bytes, checked. One
        /// word, as a `String` was, so a lease keeps its size; but made
        /// without a `String`'s UTF-8 check and storage set-up (the bytes
        /// are known ASCII), compared and written from its buffer without a
        /// `String`'s `withUTF8` (~0.45 k instructions a lock request with a
        /// 43-character token).
        case long([UInt8])

        /// The 22–32 characters in four words (character `i` in byte `i % 8`
        /// of word `i / 8`, counted from the low byte); each a token byte,
        /// every byte past them zero.
        init(characters words: (UInt64, UInt64, UInt64, UInt64)) {
            let last = words.3
            self = .characters(words.0, words.1, words.2, UInt32(truncatingIfNeeded: last), UInt16(truncatingIfNeeded: last >> 32),
                               UInt8(truncatingIfNeeded: last >> 48), LastCharacter(unchecked: UInt8(truncatingIfNeeded: last >> 56)))
        }
    }

    /// A token's 32nd character: a token byte (at most `z`, 0x7A), or zero
    /// for a shorter token; one case per byte value up to `z`, so that the
    /// values above are free (see ``Form``).
    @usableFromInline
    enum LastCharacter: UInt8, Sendable {
        case c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, c15, c16, c17, c18, c19, c20, c21, c22, c23
        case c24, c25, c26, c27, c28, c29, c30, c31, c32, c33, c34, c35, c36, c37, c38, c39, c40, c41, c42, c43, c44, c45
        case c46, c47, c48, c49, c50, c51, c52, c53, c54, c55, c56, c57, c58, c59, c60, c61, c62, c63, c64, c65, c66, c67
        case c68, c69, c70, c71, c72, c73, c74, c75, c76, c77, c78, c79, c80, c81, c82, c83, c84, c85, c86, c87, c88, c89
        case c90, c91, c92, c93, c94, c95, c96, c97, c98, c99, c100, c101, c102, c103, c104, c105, c106, c107, c108, c109
        case c110, c111, c112, c113, c114, c115, c116, c117, c118, c119, c120, c121, c122

        /// The case of `byte`, a token byte or zero (checked before: every
        /// byte of a token's text is at most `z`, whose case is the last). Checked here
        /// too, in release builds: a byte past `z` would read as another
        /// ``Form`` with the token's text in it (review16), for one compare.
        init(unchecked byte: UInt8) {
            precondition(byte <= UInt8(ascii: "z"), "a token's character beyond z")
            self = unsafeBitCast(byte, to: LastCharacter.self)  // a case's index is its raw value
        }
    }

    /// The four words of ``Form/characters``'s fields (``Form/init(characters:)`` backwards).
    @inlinable
    static func words(_ first: UInt64, _ second: UInt64, _ third: UInt64, _ low: UInt32, _ middle: UInt16, _ high: UInt8,
                      _ last: LastCharacter) -> (UInt64, UInt64, UInt64, UInt64) {
        (first, second, third, UInt64(low) | UInt64(middle) << 32 | UInt64(high) << 48 | UInt64(last.rawValue) << 56)
    }

    @usableFromInline
    let form: Form

    /// How many characters the base64url of 24 bytes has: the most a
    /// token kept in words has.
    @inlinable
    static var encodedCount: Int { 32 }

    /// The fewest characters a token has.
    @inlinable
    static var minCount: Int { 22 }

    /// How many characters a token kept in words has, from its third and
    /// fourth words (the first two are all text: at least 22 characters).
    @inlinable @inline(__always)
    static func count(third: UInt64, fourth: UInt64) -> Int {
        // A 32nd character: 32 (every server-made token), told by one compare.
        fourth >> 56 != 0 ? encodedCount : 16 &+ (71 &- third.leadingZeroBitCount) &>> 3 &+ (71 &- fourth.leadingZeroBitCount) &>> 3
    }

    /// The most characters a token has.
    public static let maxCount = 128

    /// The token's text. Never log it.
    public var value: String {
        switch form {
        case .long(let bytes): String(decoding: bytes, as: UTF8.self)
        case .characters: withUTF8 { String(decoding: $0, as: UTF8.self) }
        }
    }

    /// Calls `body` with the token's text as UTF-8 (a copy on the stack
    /// for a token kept in words).
    public func withUTF8<Result>(_ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
        switch form {
        case .long:
            // Out of line, as a shorter token (below): inlined, the
            // array's lending left a name's append outlined where a Redis
            // release's arguments are written (~25 instructions a release).
            return withLongUTF8(body)
        case .characters(let first, let second, let third, let low, let middle, let high, let last):
            // A shorter token out of line: inlined where a Redis call's
            // arguments are written, its count's arithmetic left a name's
            // append there outlined (~40 instructions a Redis lock request).
            guard last.rawValue != 0 else { return withShortUTF8(body) }
            let words = Self.words(first, second, third, low, middle, high, last)
            var characters = (words.0.littleEndian, words.1.littleEndian, words.2.littleEndian, words.3.littleEndian)  // the text's 32 bytes
            return withUnsafeBytes(of: &characters) { raw in
                // A tuple's bytes have an address; read as bytes inside this closure only.
                body(UnsafeBufferPointer(start: raw.baseAddress.unsafelyUnwrapped.assumingMemoryBound(to: UInt8.self), count: raw.count))
            }
        }
    }

    /// ``withUTF8(_:)`` of a token of 33–128 characters.
    @inline(never)
    private func withLongUTF8<Result>(_ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
        guard case .long(let bytes) = form else { return withUTF8(body) }
        return bytes.withUnsafeBufferPointer(body)
    }

    /// ``withUTF8(_:)`` of a token of 22–31 characters kept in words.
    @inline(never)
    private func withShortUTF8<Result>(_ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
        guard case .characters(let first, let second, let third, let low, let middle, let high, let last) = form else {
            return withUTF8(body)
        }
        let words = Self.words(first, second, third, low, middle, high, last)
        var characters = (words.0.littleEndian, words.1.littleEndian, words.2.littleEndian, words.3.littleEndian)  // the text, then zeros
        let count = Self.count(third: words.2, fourth: words.3)
        return withUnsafeBytes(of: &characters) { raw in
            // A tuple's bytes have an address; read as bytes inside this closure only.
            body(UnsafeBufferPointer(start: raw.baseAddress.unsafelyUnwrapped.assumingMemoryBound(to: UInt8.self), count: count))
        }
    }

    /// How many characters (bytes) the token's text has.
    @inlinable @inline(__always)
    public var count: Int {
        switch form {
        case .long(let bytes): bytes.count
        case .characters(_, _, _, _, _, _, let last):
            // A 32nd character: 32 (every server-made token), told by one compare.
            last.rawValue != 0 ? Self.encodedCount : shortCount
        }
    }

    /// ``count`` of a token of 22–31 characters kept in words. Out of
    /// line: inlined, its arithmetic grew every caller, and a Redis
    /// release's room was no longer inlined (~20 instructions a release).
    @usableFromInline @inline(never)
    var shortCount: Int {
        switch form {
        case .long(let bytes): bytes.count
        case .characters(_, _, let third, let low, let middle, let high, _):
            Self.count(third: third, fourth: UInt64(low) | UInt64(middle) << 32 | UInt64(high) << 48)
        }
    }

    /// Room that holds the token's text: ``count`` but for a token kept in
    /// words, which takes their 32 bytes whatever its count — a bound told
    /// without reading the words (sized by ``count``, a grant's body asked
    /// whether a server-made token has a 32nd character, twice).
    @inlinable @inline(__always)
    public var room: Int {
        switch form {
        case .long(let bytes): bytes.count
        case .characters: Self.encodedCount
        }
    }

    /// Writes the token's text at `position` (room for ``count`` bytes)
    /// and returns how many bytes it wrote: a body or a store's call takes
    /// the characters without a `String` made for them. Inlined where it is
    /// called — four stores for a server-made token; a shorter one kept in
    /// words is written by ``writeShort(to:)`` (never a byte past ``count``:
    /// the caller's room may end there), a token kept as its text by
    /// ``writeText(to:)``, both out of line.
    @inlinable @inline(__always)
    public func write(to position: UnsafeMutablePointer<UInt8>) -> Int {
        guard case .characters(let first, let second, let third, let low, let middle, let high, let last) = form else {
            return writeText(to: position)
        }
        guard last.rawValue != 0 else { return writeShort(to: position) }
        let fourth = Self.words(first, second, third, low, middle, high, last).3
        let raw = UnsafeMutableRawPointer(position)
        raw.storeBytes(of: first.littleEndian, as: UInt64.self)
        raw.storeBytes(of: second.littleEndian, toByteOffset: 8, as: UInt64.self)
        raw.storeBytes(of: third.littleEndian, toByteOffset: 16, as: UInt64.self)
        raw.storeBytes(of: fourth.littleEndian, toByteOffset: 24, as: UInt64.self)
        return Self.encodedCount
    }

    /// ``write(to:)`` of a token of 22–31 characters kept in words, out of
    /// line (as ``shortCount``).
    @usableFromInline @inline(never)
    func writeShort(to position: UnsafeMutablePointer<UInt8>) -> Int {
        guard case .characters(let first, let second, let third, let low, let middle, let high, let last) = form else {
            return writeText(to: position)
        }
        let fourth = Self.words(first, second, third, low, middle, high, last).3
        let raw = UnsafeMutableRawPointer(position)
        raw.storeBytes(of: first.littleEndian, as: UInt64.self)
        raw.storeBytes(of: second.littleEndian, toByteOffset: 8, as: UInt64.self)
        // The last eight characters, put together from the two words they
        // straddle, end the text exactly (smart shifts: a shift by 64 is zero).
        let count = Self.count(third: third, fourth: fourth)
        let tail: UInt64
        if count >= 24 {
            raw.storeBytes(of: third.littleEndian, toByteOffset: 16, as: UInt64.self)
            tail = third >> ((count &- 24) &* 8) | fourth << ((32 &- count) &* 8)
        } else {
            tail = second >> ((count &- 16) &* 8) | third << ((24 &- count) &* 8)
        }
        raw.storeBytes(of: tail.littleEndian, toByteOffset: count &- 8, as: UInt64.self)
        return count
    }

    /// ``write(to:)`` of a token of 33–128 characters.
    @usableFromInline
    func writeText(to position: UnsafeMutablePointer<UInt8>) -> Int {
        guard case .long(let bytes) = form else { return write(to: position) }
        return bytes.withUnsafeBufferPointer { utf8 in
            if let base = utf8.baseAddress { position.update(from: base, count: utf8.count) }
            return utf8.count
        }
    }

    /// Validates a client-presented token.
    /// - Throws: ``LockError/invalidRequest(_:)`` when it is malformed.
    public init(_ text: String) throws(LockError) {
        var text = text
        // Through `withUTF8`: `utf8.allSatisfy` walks a String's view byte
        // by byte, several times slower.
        let form = text.withUTF8 { Self.form(of: $0) }
        guard let form else { throw Self.malformed }
        self.form = form
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
        guard let form = Self.form(of: utf8) else { return nil }
        self.form = form
    }

    /// ``init(checking:)`` of bytes already in an array of their own (a
    /// header's value of 33–128 characters): a longer token keeps the array
    /// itself, not a copy. Nil when they are no token, for which
    /// ``malformed`` is the error to answer.
    public init?(bytes: [UInt8]) {
        let (valid, words) = bytes.withUnsafeBufferPointer { Self.read($0) }
        guard valid else { return nil }
        form = words.map { Form(characters: $0) } ?? .long(bytes)
    }

    /// The form of the token `utf8` is: its words for 22–32 characters, a
    /// copy of its bytes for 33–128; nil when it is no token.
    private static func form(of utf8: UnsafeBufferPointer<UInt8>) -> Form? {
        let (valid, words) = read(utf8)
        guard valid else { return nil }
        // No `String`: its UTF-8 check and storage cost a longer token ~0.1 k more an acquire.
        return words.map { Form(characters: $0) } ?? .long(Array(utf8))
    }

    /// A client-presented token of 32 characters given as four words
    /// (character `i` in byte `i % 8` of word `i / 8`, counted from the low
    /// byte: the text's bytes loaded little-endian); nil when any byte is no
    /// token character, for which ``malformed`` is the error to answer. A
    /// header's value copied into words needs no buffer lent back, nor its
    /// length asked again (through ``init(checking:)``, ~40 instructions
    /// more a release).
    public init?(characters words: (UInt64, UInt64, UInt64, UInt64)) {
        guard Self.invalidBytes(words.0) | Self.invalidBytes(words.1) | Self.invalidBytes(words.2) | Self.invalidBytes(words.3) == 0
        else { return nil }
        form = Form(characters: words)
    }

    /// A client-presented token of `count` characters, 22–32, given as
    /// four words as ``init(characters:)`` takes them; the bytes past
    /// `count` are not read (a header's value copied into zeroed words).
    /// Nil when `count` is out of that range or any of its bytes is no
    /// token character, for which ``malformed`` is the error to answer.
    /// (A header's value read and checked in place by ``read(_:)``, its
    /// words made into a token after, cost a release of 22 characters ~40
    /// instructions more: the call across modules, its thunk, the words
    /// returned through memory.)
    public init?(characters words: (UInt64, UInt64, UInt64, UInt64), count: Int) {
        guard count >= Self.minCount, count <= Self.encodedCount else { return nil }
        // The bytes of the third and fourth words that are text.
        let third = Self.lowBytes(count &- 16), fourth = Self.lowBytes(count &- 24)
        let invalid = Self.invalidBytes(words.0) | Self.invalidBytes(words.1) | Self.invalidBytes(words.2) & third
            | Self.invalidBytes(words.3) & fourth
        guard invalid == 0 else { return nil }
        form = Form(characters: (words.0, words.1, words.2 & third, words.3 & fourth))
    }

    /// A mask of a word's low `count` bytes (none below 1, all above 7).
    @inline(__always)
    private static func lowBytes(_ count: Int) -> UInt64 {
        UInt64.max >> ((8 &- min(max(count, 0), 8)) &* 8)
    }

    /// The error for bytes that are no token.
    public static var malformed: LockError { .invalidRequest("a lease token is 22–128 characters of A-Z a-z 0-9 _ -") }

    /// Whether `utf8` is a token, and the four words of 22–32 characters
    /// (zeros past the text). Read and checked eight bytes at a time, the last eight loaded where they end
    /// (overlapping the word before): checked byte by byte, a client's
    /// token of 22 characters cost ~0.28 k instructions.
    static func read(_ utf8: UnsafeBufferPointer<UInt8>) -> (valid: Bool, words: (UInt64, UInt64, UInt64, UInt64)?) {
        let count = utf8.count
        guard count >= minCount, count <= maxCount, let base = utf8.baseAddress else { return (false, nil) }
        let raw = UnsafeRawPointer(base)
        func word(_ offset: Int) -> UInt64 { UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) }
        // 32 characters (every server-made token sent back) in four words
        // checked in one expression: through the general path below, its
        // masks and shifts kept live, a release's token cost ~0.1 k more.
        if count == encodedCount {
            let words = (word(0), word(8), word(16), word(24))
            let invalid = invalidBytes(words.0) | invalidBytes(words.1) | invalidBytes(words.2) | invalidBytes(words.3)
            return invalid == 0 ? (true, words) : (false, nil)
        }
        if count > encodedCount {
            // 33–128 characters: 32 bytes at a time, the four words of each
            // checked in one expression — the first 32, the last 32
            // (overlapping them), then any between. A word at a time, in a
            // loop, each word cost ~45 instructions (its constants set up
            // again, its registers shuffled): a 43-character token ~0.28 k,
            // now ~0.12 k.
            @inline(__always) func block(_ offset: Int) -> UInt64 {
                invalidBytes(word(offset)) | invalidBytes(word(offset &+ 8)) | invalidBytes(word(offset &+ 16)) | invalidBytes(word(offset &+ 24))
            }
            var invalid = block(0) | block(count &- 32)
            var offset = 32
            while offset &+ 32 < count {
                invalid |= block(offset)
                offset &+= 32
            }
            return (invalid == 0, nil)
        }
        let first = word(0), second = word(8), tail = word(count &- 8)
        var invalid = invalidBytes(first) | invalidBytes(second) | invalidBytes(tail)
        // 22–31 characters: the text's bytes from 16 on are the third word,
        // then the fourth: the tail's high bytes (smart shifts: by 64 is zero).
        let third: UInt64, fourth: UInt64
        if count >= 24 {
            third = word(16)
            invalid |= invalidBytes(third)
            fourth = tail >> ((32 &- count) &* 8)
        } else {
            third = tail >> ((24 &- count) &* 8)
            fourth = 0
        }
        return invalid == 0 ? (true, (first, second, third, fourth)) : (false, nil)
    }

    /// The high bit of each byte of `word` that is no token byte
    /// (`[A-Za-z0-9_-]`; a zero byte is none); zero when all are.
    /// ``ByteLanes``' comparisons, as ``LockName/invalidBytes(_:)``.
    /// Through a table of each byte's sextet, a token's 32 bytes cost ~0.27 k
    /// instructions; this, ~0.1 k.
    @inline(__always)
    private static func invalidBytes(_ word: UInt64) -> UInt64 {
        let ascii = word & ~ByteLanes.high
        let digits = ByteLanes.atLeast(ascii, 0x30) & ByteLanes.atMost(ascii, 0x39)
        // Letters of either case (bit 5 set: a–z).
        let lower = ascii | 0x2020_2020_2020_2020
        let letters = ByteLanes.atLeast(lower, 0x61) & ByteLanes.atMost(lower, 0x7A)
        let valid = (digits | letters | ByteLanes.equal(ascii, 0x5F) | ByteLanes.equal(ascii, 0x2D)) & ~word
        return ~valid & ByteLanes.high
    }

    private init(form: Form) { self.form = form }

    /// A fresh token of 192 random bits: 32 characters of the base64url
    /// alphabet, each six random bits — the base64url of 24 random bytes,
    /// alike in distribution, made without a table: each byte of 32 random
    /// ones keeps its low six bits and is mapped to its character by
    /// arithmetic on eight bytes at a time (``character(_:)``). Encoding 24
    /// bytes character by character cost ~0.16 k instructions an acquire.
    public static func random() -> LeaseToken {
        // From a pool filled 4 KiB at a time: `SystemRandomNumberGenerator`
        // asks the kernel once per 8 bytes, `arc4random_buf` once per call.
        var bytes: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        withUnsafeMutableBytes(of: &bytes) { EntropyPool.shared.fill($0) }
        return LeaseToken(form: Form(characters: (characters(bytes.0), characters(bytes.1), characters(bytes.2), characters(bytes.3))))
    }

    /// Each byte's low six bits as the base64url character of that value
    /// (0–25 `A`–`Z`, 26–51 `a`–`z`, 52–61 `0`–`9`, 62 `-`, 63 `_`): the
    /// value plus an offset that steps at 26, 52, 62 and 63. Every byte's
    /// sums stay below 0x100 and its difference at or above 0, so no byte
    /// carries into or borrows from the next.
    @inline(__always)
    static func characters(_ word: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let sextets = word & (ones &* 0x3F)
        // 1 in each byte whose sextet is at least `low`.
        func atLeast(_ low: UInt64) -> UInt64 { (sextets &+ ones &* (0x80 - low)) >> 7 & ones }
        let raised = sextets &+ ones &* 0x41 &+ atLeast(26) &* 6 &+ atLeast(63) &* 49
        return raised &- (atLeast(52) &* 75 &+ atLeast(62) &* 13)
    }

    /// Compares in time independent of where the tokens differ, so response
    /// timing reveals nothing about a stored token (only how long the
    /// shorter one is). Texts are read in place, eight bytes at a time
    /// (copied into arrays and compared byte by byte, a release's two
    /// comparisons cost ~1 k instructions).
    public static func == (lhs: LeaseToken, rhs: LeaseToken) -> Bool {
        switch (lhs.form, rhs.form) {
        case (.characters(let a0, let a1, let a2, let a3, let a4, let a5, let a6),
              .characters(let b0, let b1, let b2, let b3, let b4, let b5, let b6)):
            let last = UInt64(a3 ^ b3) | UInt64(a4 ^ b4) | UInt64(a5 ^ b5) | UInt64(a6.rawValue ^ b6.rawValue)
            return (a0 ^ b0) | (a1 ^ b1) | (a2 ^ b2) | last == 0
        case (.long(let left), .long(let right)):
            return equalInConstantTime(left, right)
        default:
            // 22–32 characters against a longer token.
            return false
        }
    }

    private static func equalInConstantTime(_ left: [UInt8], _ right: [UInt8]) -> Bool {
        left.withUnsafeBufferPointer { left in
            right.withUnsafeBufferPointer { right in
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
        case .characters(let first, let second, let third, let low, let middle, let high, let last):
            hasher.combine(first)
            hasher.combine(second)
            hasher.combine(third)
            hasher.combine(Self.words(first, second, third, low, middle, high, last).3)
        case .long(let bytes):
            // Its bytes at once (fed one by one, as an array hashes, ~10 instructions a byte).
            bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
        }
    }

    public var description: String { "<redacted token>" }
}
