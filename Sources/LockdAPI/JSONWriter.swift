import LockEngine
import LockdHTTP

/// Builds the JSON bodies lockd sends, field by field, without reflection,
/// as UTF-8 bytes: a body is written straight into the array that becomes
/// the response (building a `String` scalar by scalar cost a lease ~20 000
/// instructions).
///
/// Each field is written whole through one pointer into space made for it
/// at once (appending its key, punctuation and value byte by byte cost a
/// lease ~4 000 instructions more); the array is zero-filled beyond what
/// is written, and cut to it by ``finish()``.
struct JSONWriter {
    private var buffer: [UInt8]
    private var used = 0
    private var isFirst = true

    /// A writer with room for `capacity` bytes before it must grow.
    init(capacity: Int = 192) {
        buffer = [UInt8](repeating: 0, count: max(capacity, 2))
        buffer[0] = UInt8(ascii: "{")
        used = 1
    }

    /// Adds `"key":"value"` (escaped).
    mutating func field(_ key: StaticString, _ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            let escapes = JSONCursor.escapedExtra(utf8)
            put(key, maxCount: utf8.count + escapes + 2) { $0.string(utf8, escapedExtra: escapes) }
        }
    }

    /// Adds `"key":"instant"` in RFC 3339 (milliseconds since the Unix epoch).
    mutating func instant(_ key: StaticString, milliseconds: Int64) {
        put(key, maxCount: JSONCursor.instantMaxCount) { $0.instant(milliseconds: milliseconds) }
    }

    /// Adds `"key":value` for a number.
    mutating func field(_ key: StaticString, _ value: Int64) {
        put(key, maxCount: ASCIIDigits.maxCount) { $0.integer(value) }
    }

    /// Adds `"key":true|false`.
    mutating func field(_ key: StaticString, _ value: Bool) {
        literal(key, value ? "true" : "false")
    }

    /// Adds `"key":null`.
    mutating func null(_ key: StaticString) {
        literal(key, "null")
    }

    /// Adds `"key":` followed by already-encoded JSON.
    mutating func raw(_ key: StaticString, _ json: String) {
        raw(key, Array(json.utf8))
    }

    /// Adds `"key":` followed by already-encoded JSON bytes.
    mutating func raw(_ key: StaticString, _ json: [UInt8]) {
        json.withUnsafeBufferPointer { json in
            put(key, maxCount: json.count) { $0.copy(json) }
        }
    }

    /// Closes the object and hands over its bytes; the writer is not to be used after.
    mutating func finish() -> [UInt8] {
        reserve(1)
        buffer[used] = UInt8(ascii: "}")
        buffer.removeLast(buffer.count - used - 1)
        return buffer
    }

    /// The finished object (a copy; ``finish()`` avoids it).
    var bytes: [UInt8] { Array(buffer[..<used]) + [UInt8(ascii: "}")] }

    private mutating func literal(_ key: StaticString, _ text: StaticString) {
        put(key, maxCount: text.utf8CodeUnitCount) { $0.copy(text) }
    }

    /// Writes the key (after a comma unless first), then the value `body`
    /// writes in at most `maxCount` bytes.
    private mutating func put(_ key: StaticString, maxCount: Int, _ body: (inout JSONCursor) -> Void) {
        let isFirst = self.isFirst
        self.isFirst = false
        reserve(JSONCursor.keyMaxCount(key) + maxCount)
        let start = used
        used = buffer.withUnsafeMutableBufferPointer { whole -> Int in
            guard let base = whole.baseAddress else { return start }  // never: the space was just made
            var cursor = JSONCursor(base + start, end: base + whole.count)
            cursor.key(key, first: isFirst)
            let value = cursor.position
            body(&cursor)
            precondition(cursor.position - value <= maxCount, "a JSON value longer than the space made for it")
            return cursor.position - base
        }
    }

    /// Makes room for `count` more bytes.
    private mutating func reserve(_ count: Int) {
        if buffer.count - used < count {
            buffer.append(contentsOf: repeatElement(0, count: max(count, buffer.count)))
        }
    }
}

/// Writes JSON through a pointer into space sized beforehand: keys are
/// literals that need no escaping, copied as they are.
///
/// Every write checks it stays before `end`, so a miscounted space traps
/// rather than writing past it (the lease's space is on the stack).
struct JSONCursor {
    /// Where the next byte goes.
    private(set) var position: UnsafeMutablePointer<UInt8>
    /// Just past the last byte of the space.
    private let end: UnsafeMutablePointer<UInt8>

    /// A cursor at `position` that never writes at or past `end`.
    init(_ position: UnsafeMutablePointer<UInt8>, end: UnsafeMutablePointer<UInt8>) {
        precondition(position <= end, "a JSON cursor past its space")
        self.position = position
        self.end = end
    }

    /// The most bytes ``key(_:first:)`` writes: `,"key":`.
    static func keyMaxCount(_ key: StaticString) -> Int { key.utf8CodeUnitCount + 4 }

    /// The most bytes ``instant(milliseconds:)`` writes, quotes included.
    static let instantMaxCount = RFC3339.maxCount + 2

    /// `"key":`, after a comma unless it is the object's first.
    mutating func key(_ key: StaticString, first: Bool) {
        if !first { byte(UInt8(ascii: ",")) }
        byte(UInt8(ascii: "\""))
        copy(key)
        byte(UInt8(ascii: "\""))
        byte(UInt8(ascii: ":"))
    }

    /// `utf8` quoted; `escapedExtra` is ``escapedExtra(_:)`` of it.
    mutating func string(_ utf8: UnsafeBufferPointer<UInt8>, escapedExtra: Int) {
        byte(UInt8(ascii: "\""))
        if escapedExtra == 0 { copy(utf8) } else { escaped(utf8) }
        byte(UInt8(ascii: "\""))
    }

    /// A token's characters, unquoted (they need no escaping), in
    /// `token.count` bytes (`token.room` required): a lease's quotes are
    /// part of the literals around it. Inlined, with ``LeaseToken/write(to:)``:
    /// a server-made token is four stores (called, with its own quotes each
    /// checked and stored, it cost a grant ~45 instructions).
    @inline(__always)
    mutating func tokenCharacters(_ token: LeaseToken) {
        requireRoom(token.room)
        position += token.write(to: position)
    }

    /// A number (room for the longest, ``ASCIIDigits/maxCount``, is required).
    mutating func integer(_ value: Int64) {
        requireRoom(ASCIIDigits.maxCount)
        position += ASCIIDigits.write(value, to: position)
    }

    /// An instant, quoted, in RFC 3339 (milliseconds since the Unix epoch;
    /// room for the longest, ``instantMaxCount``, is required).
    mutating func instant(milliseconds: Int64) {
        requireRoom(Self.instantMaxCount)
        byte(UInt8(ascii: "\""))
        position += RFC3339.write(milliseconds: milliseconds, to: position)
        byte(UInt8(ascii: "\""))
    }

    mutating func copy(_ text: StaticString) {
        copy(UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Copied as into fresh memory (`initialize`, a plain copy): the space
    /// is never the source's. `update` also asked, on every copy, whether
    /// the two overlap, and which way (~4 instructions a literal, ten a lease).
    mutating func copy(_ bytes: UnsafeBufferPointer<UInt8>) {
        requireRoom(bytes.count)
        if let source = bytes.baseAddress { position.initialize(from: source, count: bytes.count) }
        position += bytes.count
    }

    private mutating func byte(_ value: UInt8) {
        requireRoom(1)
        position.pointee = value
        position += 1
    }

    /// Traps unless `count` more bytes fit before `end`.
    private func requireRoom(_ count: Int) {
        precondition(end - position >= count, "JSON written past the space made for it")
    }

    /// How many bytes escaping adds to `utf8` (RFC 8259, as `JSONString`
    /// escapes: only ASCII bytes ever need it; most texts need none).
    /// A text of eight bytes or more is first checked eight bytes at a
    /// time (``needsEscaping(_:)``): nearly every one needs no escape, and
    /// byte by byte an owner of nine bytes cost a grant ~0.11 k instructions.
    static func escapedExtra(_ utf8: UnsafeBufferPointer<UInt8>) -> Int {
        if utf8.count >= 8, let base = utf8.baseAddress {
            let raw = UnsafeRawPointer(base)
            // The last eight bytes loaded where they end, over the word before.
            var needs = needsEscaping(raw.loadUnaligned(fromByteOffset: utf8.count &- 8, as: UInt64.self))
            var offset = 0
            while offset &+ 8 < utf8.count {
                needs |= needsEscaping(raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
                offset &+= 8
            }
            if needs == 0 { return 0 }
        }
        return escapedExtraByBytes(utf8)
    }

    /// The high bit of each byte of `word` that JSON escapes (below 0x20,
    /// `"`, `\`); zero when none. Bytes at or above 0x80 are left out of
    /// the sums (no carry crosses a byte: each sum stays below 0x100) and
    /// are never escaped.
    @inline(__always)
    static func needsEscaping(_ word: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101, high: UInt64 = 0x8080_8080_8080_8080
        let ascii = word & ~high
        let control = ascii &+ ones &* 0x60  // below 0x80 exactly where the byte is below 0x20
        let quote = (ascii ^ ones &* 0x22) &+ ones &* 0x7F  // below 0x80 exactly where the byte is `"`
        let backslash = (ascii ^ ones &* 0x5C) &+ ones &* 0x7F
        return ~(control & quote & backslash) & ~word & high
    }

    /// ``escapedExtra(_:)`` byte by byte: the reference, and every text
    /// that needs an escape or is shorter than a word.
    static func escapedExtraByBytes(_ utf8: UnsafeBufferPointer<UInt8>) -> Int {
        var extra = 0
        for byte in utf8 where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"): extra += 1
            default: extra += 5
            }
        }
        return extra
    }

    private mutating func escaped(_ utf8: UnsafeBufferPointer<UInt8>) {
        for byte in utf8 {
            guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else {
                self.byte(byte)
                continue
            }
            self.byte(UInt8(ascii: "\\"))
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): self.byte(byte)
            case UInt8(ascii: "\n"): self.byte(UInt8(ascii: "n"))
            case UInt8(ascii: "\r"): self.byte(UInt8(ascii: "r"))
            case UInt8(ascii: "\t"): self.byte(UInt8(ascii: "t"))
            default:
                self.byte(UInt8(ascii: "u"))
                self.byte(UInt8(ascii: "0"))
                self.byte(UInt8(ascii: "0"))
                self.byte(Self.hexDigit(byte >> 4))
                self.byte(Self.hexDigit(byte & 0xF))
            }
        }
    }

    private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10
    }
}

/// The JSON shapes of PRODUCT.md's Lease, Holder, LockStatus and LockList.
enum LockJSON {
    /// A lease's body, written in one pass into one allocation of its
    /// size at most: the most frequent body (every grant and renewal).
    /// Its name and token need no escaping (their characters are
    /// validated); an owner may.
    ///
    /// The texts' bytes are lent through their views' contiguous storage
    /// (every native or small string's): `withUTF8` works on a variable,
    /// a copy of the text retained and released (~30 instructions a lease).
    static func lease(_ lease: Lease) -> [UInt8] {
        let written = lease.name.value.utf8.withContiguousStorageIfAvailable { name -> [UInt8]? in
            guard let owner = lease.owner else { return Self.lease(lease, name: name, owner: nil) }
            return owner.utf8.withContiguousStorageIfAvailable { Self.lease(lease, name: name, owner: $0) }
        }
        return (written ?? nil) ?? copyingTexts(lease)
    }

    /// ``lease(_:)`` of texts without contiguous storage (never on Linux,
    /// where every string is native or small): through copies made so.
    @inline(never)
    private static func copyingTexts(_ lease: Lease) -> [UInt8] {
        var name = lease.name.value
        return name.withUTF8 { name in
            guard var owner = lease.owner else { return Self.lease(lease, name: name, owner: nil) }
            return owner.withUTF8 { Self.lease(lease, name: name, owner: $0) }
        }
    }

    /// ``lease(_:)`` with its texts' bytes at hand. The keys and the
    /// punctuation between two values are copied as one literal each (a
    /// key written as a key, its quotes, colon and comma each checked and
    /// stored apart, cost a lease ~0.6 k instructions more); the member
    /// order and bytes are ``JSONWriter``'s (a test compares the two).
    private static func lease(_ lease: Lease, name: UnsafeBufferPointer<UInt8>, owner: UnsafeBufferPointer<UInt8>?) -> [UInt8] {
        let ownerEscapes = owner.map(JSONCursor.escapedExtra) ?? 0
        // Keys, quotes and punctuation 85 bytes, the longer mode's 9, three numbers, the instant.
        // Wrapping sums: each term is a length in memory (the name at most
        // 255 bytes, an owner's escapes at most six times its length).
        let capacity = 85 &+ 9 &+ name.count &+ lease.token.room &+ (owner?.count ?? 0) &+ ownerEscapes
            &+ 3 &* ASCIIDigits.maxCount &+ JSONCursor.instantMaxCount
        // Written in temporary memory, then copied into the thread's body
        // array (``ThreadBodyBuffer``): an array made to be written in is
        // allocated by unspecialized code that looks its type up at run
        // time (~0.35 k instructions; see `RESPArgumentWriter.write`).
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: capacity) { buffer in
            guard let base = buffer.baseAddress else { return [] }  // never: the capacity is above 85
            return ThreadBodyBuffer.body(copying: UnsafeBufferPointer(
                start: base, count: write(lease, name: name, owner: owner, ownerEscapes: ownerEscapes, to: base, capacity: capacity)))
        }
    }

    /// Writes ``lease(_:name:owner:)``'s JSON at `base`, in at most
    /// `capacity` bytes, and returns how many it wrote. A function of its
    /// own, not the temporary allocation's closure: that closure, grown
    /// past the inliner's budget, was outlined, with a frame and a copy of
    /// what it captured (~50 instructions a grant).
    @inline(never)
    private static func write(_ lease: borrowing Lease, name: UnsafeBufferPointer<UInt8>, owner: UnsafeBufferPointer<UInt8>?,
                              ownerEscapes: Int, to base: UnsafeMutablePointer<UInt8>, capacity: Int) -> Int {
        var json = JSONCursor(base, end: base + capacity)
        json.copy(#"{"name":""#)
        json.copy(name)
        json.copy(#"","token":""#)
        json.tokenCharacters(lease.token)
        json.copy(#"","fence":"#)
        json.integer(lease.fence)
        json.copy(#","ttl_ms":"#)
        json.integer(lease.ttlMs)
        json.copy(#","expires_at":"#)
        json.instant(milliseconds: lease.expiresAtMs)
        if let owner {
            json.copy(#","owner":"#)
            json.string(owner, escapedExtra: ownerEscapes)
        }
        // A lock's limit (1, nearly every lease) is part of its literal:
        // written as a number, with the closing brace apart, it cost a
        // grant ~50 instructions more.
        // Each literal copied where it is chosen: a length known there
        // is a few stores (chosen first, it was a `memcpy` call).
        if lease.limit == 1 {
            if lease.mode == .exclusive {
                json.copy(#","mode":"exclusive","limit":1}"#)
            } else {
                json.copy(#","mode":"shared","limit":1}"#)
            }
        } else {
            json.copy(lease.mode == .shared ? #","mode":"shared","limit":"# : #","mode":"exclusive","limit":"#)
            json.integer(Int64(lease.limit))
            json.copy("}")
        }
        return json.position - base
    }

    static func holder(_ holder: Holder) -> [UInt8] {
        var json = JSONWriter()
        if let owner = holder.owner { json.field("owner", owner) }
        if let client = holder.client { json.field("client", client) }
        json.field("mode", holder.mode.rawValue)
        json.field("fence", holder.fence)
        json.instant("expires_at", milliseconds: holder.expiresAtMs)
        json.field("ttl_ms", holder.remainingMs)
        return json.finish()
    }

    static func holders(_ holders: [Holder]) -> [UInt8] {
        var array: [UInt8] = [UInt8(ascii: "[")]
        for (index, holder) in holders.enumerated() {
            if index > 0 { array.append(UInt8(ascii: ",")) }
            array += Self.holder(holder)
        }
        array.append(UInt8(ascii: "]"))
        return array
    }

    static func status(_ status: LockStatus) -> [UInt8] {
        var json = JSONWriter()
        json.field("name", status.name.value)
        json.field("held", status.isHeld)
        if let mode = status.mode { json.field("mode", mode.rawValue) }
        json.field("limit", Int64(status.limit))
        json.raw("holders", holders(status.holders))
        json.field("waiting", Int64(status.waiting))
        if let delayedUntil = status.delayedUntilMs { json.instant("delayed_until", milliseconds: delayedUntil) }
        return json.finish()
    }

    static func page(_ page: LockPage) -> [UInt8] {
        var locks: [UInt8] = [UInt8(ascii: "[")]
        for (index, status) in page.locks.enumerated() {
            if index > 0 { locks.append(UInt8(ascii: ",")) }
            locks += Self.status(status)
        }
        locks.append(UInt8(ascii: "]"))
        var json = JSONWriter()
        json.raw("locks", locks)
        if let cursor = page.nextCursor {
            json.field("next_cursor", cursor)
        } else {
            json.null("next_cursor")
        }
        return json.finish()
    }
}

extension LockJSON {
    /// An event's `data:`: `{name, fence, owner?, client?, mode, at, expires_at?}` — no token.
    static func event(_ event: LockEvent) -> [UInt8] {
        var json = JSONWriter()
        json.field("name", event.name.value)
        json.field("fence", event.fence)
        if let owner = event.owner { json.field("owner", owner) }
        if let client = event.client { json.field("client", client) }
        json.field("mode", event.mode.rawValue)
        json.instant("at", milliseconds: event.atMs)
        if let expiresAtMs = event.expiresAtMs { json.instant("expires_at", milliseconds: expiresAtMs) }
        return json.finish()
    }
}
