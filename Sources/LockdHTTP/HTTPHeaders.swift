/// Header fields in the order received or added; names compare
/// case-insensitively (ASCII), repeated fields are kept.
///
/// ```swift
/// var headers: HTTPHeaders = ["Content-Type": "application/json"]
/// headers.add(name: "Vary", value: "Accept")
/// request.headers["lock-token"]            // first value, any case
/// request.headers.values(for: "Accept")     // every value, in order
/// ```
///
/// The fields are kept as bytes, in one array the headers own: each field
/// as three lengths (four bytes each: the name's, from the name's start to
/// the value's, the value's) followed by the bytes from the name's start to
/// the value's end — for a decoded field its line as received, colon and
/// whitespace included, so that it is copied in one piece. A request's fields
/// are copied there as they are decoded, and a value becomes a `String` only
/// when it is read: making one of each value as it was decoded cost ~170
/// instructions a field (and an allocation for a value longer than 15 bytes)
/// whether or not anything read it. One array of bytes is one allocation,
/// freed without visiting its fields.
public struct HTTPHeaders: Sendable, Equatable, ExpressibleByDictionaryLiteral {
    /// One field: the name as sent and its value with surrounding whitespace removed.
    public typealias Field = (name: String, value: String)

    /// Each field: its three lengths (UInt32, little-endian), then its
    /// bytes; the array's elements past ``used`` are room for more fields.
    /// Its `count` is its room, not its use: a field is written into
    /// elements that exist, without `append(contentsOf:)`'s checks and
    /// copy through temporary memory (~235 instructions a field with them,
    /// ~70 without).
    private var storage: [UInt8] = []
    /// How many leading bytes of ``storage`` hold fields.
    private var used = 0
    /// The number of fields, repeats counted.
    public private(set) var count = 0
    /// A field's lengths before its bytes.
    private static let fieldHeaderSize = 12
    /// One bit for each field's name (``nameBit(length:first:)``): a name
    /// whose bit is clear is not here, which a lookup tells without reading
    /// a field. Most lookups are of absent names — every request is asked
    /// for `Content-Encoding`, `X-Request-Id` and `traceparent` — and
    /// walking the fields for each cost ~0.3 k instructions a lock request.
    private var nameBits: UInt64 = 0

    /// An empty set of fields.
    public init() {}

    /// Fields in the given order.
    public init(_ fields: [Field]) {
        for field in fields { add(name: field.name, value: field.value) }
    }

    public init(dictionaryLiteral elements: (String, String)...) {
        for (name, value) in elements { add(name: name, value: value) }
    }

    /// Whether there are no fields.
    public var isEmpty: Bool { count == 0 }

    /// The first value of the field named `name` (any case), or nil.
    public subscript(name: String) -> String? {
        guard let range = firstValue(named: name) else { return nil }
        return storage.withUnsafeBufferPointer { String(decoding: $0[range], as: UTF8.self) }
    }

    /// The first value of the field named `name` (any case) as its bytes,
    /// or nil: a slice of the headers' own array, where the subscript's
    /// `String` of more than 15 bytes is an allocation.
    public func firstValueBytes(named name: String) -> ArraySlice<UInt8>? {
        firstValue(named: name).map { storage[$0] }
    }

    /// Every value of the field named `name` (any case), in order.
    public func values(for name: String) -> [String] {
        var values: [String] = []
        forEachField { fieldName, value in
            if HTTPHeaders.namesEqual(fieldName, name) { values.append(String(decoding: value, as: UTF8.self)) }
            return true
        }
        return values
    }

    /// Calls `body` with the bytes of every value of the field named
    /// `lowercase` (any case; given in lower case), in order: for a reader of a list field (compression's
    /// `Accept-Encoding`, read for every promised request), where
    /// ``values(for:)`` makes an array of strings.
    package func forEachValue(named lowercase: StaticString, _ body: (UnsafeRawBufferPointer) -> Void) {
        let length = lowercase.utf8CodeUnitCount
        guard length > 0, mayContain(nameBit: Self.nameBit(length: length, first: lowercase.utf8Start[0])) else { return }
        let expected = UnsafeRawBufferPointer(start: lowercase.utf8Start, count: length)
        storage.withUnsafeBytes { storage in
            // From field to field by pointer: each field's lengths read as
            // they are needed, and no range made of them, checked, then
            // taken apart (~20 instructions a field walked, now ~10; every
            // promised request walks its fields for `Accept-Encoding`).
            guard var field = storage.baseAddress else { return }
            for _ in 0..<count {
                let nameLength = Int(UInt32(littleEndian: field.loadUnaligned(as: UInt32.self)))
                let valueOffset = Int(UInt32(littleEndian: field.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
                let valueLength = Int(UInt32(littleEndian: field.loadUnaligned(fromByteOffset: 8, as: UInt32.self)))
                let name = field + Self.fieldHeaderSize
                // The length first, as `firstValue(named:)` does.
                if nameLength == length, Self.name(UnsafeRawBufferPointer(start: name, count: length), equals: expected) {
                    body(UnsafeRawBufferPointer(start: name + valueOffset, count: valueLength))
                }
                field = name + valueOffset + valueLength
            }
        }
    }

    /// Whether `name` is `expected` (lower case, as long) in any case,
    /// exactly, eight bytes at a time (the last eight overlapping): the
    /// words may differ only in bit 0x20 of bytes where `expected` has a
    /// letter (only there is bit 0x40 set, for the bytes of a field name
    /// asked for: letters, digits, `-`) — the letter in the other case.
    /// ~6 instructions a word where ``HTTPSyntax/equalIgnoringASCIICase(_:_:)``
    /// lowers both words (~30).
    @inline(__always)
    static func name(_ name: UnsafeRawBufferPointer, equals expected: UnsafeRawBufferPointer) -> Bool {
        let count = expected.count
        guard count >= 8 else { return HTTPSyntax.equalIgnoringASCIICase(name, expected) }
        var offset = 0
        while true {
            let word = name.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            let wanted = expected.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            let caseBits = (wanted & 0x4040_4040_4040_4040) >> 1
            guard (word ^ wanted) & ~caseBits == 0 else { return false }
            if offset == count &- 8 { return true }
            offset = Swift.min(offset &+ 8, count &- 8)
        }
    }

    /// Whether a field named `name` (any case) is present.
    public func contains(_ name: String) -> Bool {
        firstValue(named: name) != nil
    }

    /// Appends a field, keeping any with the same name.
    public mutating func add(name: String, value: String) {
        var name = name, value = value
        name.withUTF8 { name in value.withUTF8 { value in append(UnsafeRawBufferPointer(name), UnsafeRawBufferPointer(value)) } }
    }

    /// Replaces every field named `name` with one field holding `value`.
    public mutating func replaceOrAdd(name: String, value: String) {
        remove(name)
        add(name: name, value: value)
    }

    /// Removes every field named `name` (any case).
    public mutating func remove(_ name: String) {
        guard contains(name) else { return }
        var kept = HTTPHeaders()
        forEachField { fieldName, value in
            if !HTTPHeaders.namesEqual(fieldName, name) { kept.append(fieldName, value) }
            return true
        }
        self = kept
    }

    public static func == (lhs: HTTPHeaders, rhs: HTTPHeaders) -> Bool {
        lhs.count == rhs.count && lhs.elementsEqual(rhs) { $0.name == $1.name && $0.value == $1.value }
    }

    // MARK: Bytes

    /// Bytes of storage held, used or not (0: none allocated yet).
    var storageCapacity: Int { storage.count }

    /// Bytes the fields take here: no fewer than they take written as
    /// `name: value` CRLF (each field's lengths take 12 bytes, its colon,
    /// space and CRLF 4), so a bound on a head's size.
    var heldByteCount: Int { used }

    /// Drops every field and keeps the storage for others (copied, on the
    /// next field written, when something else still holds this one).
    mutating func removeAllKeepingStorage() {
        used = 0
        count = 0
        nameBits = 0
    }

    /// The bit of a name of `length` bytes starting with `first`: the same
    /// for every case of a name (a letter's low five bits do not depend on
    /// its case), and different for the names looked up on every request
    /// and those most requests have (`Host`, `Content-Type`,
    /// `Content-Length`, `Accept-Encoding`, `Lock-Token`, `User-Agent`).
    @inline(__always)
    static func nameBit(length: Int, first: UInt8) -> UInt64 {
        1 &<< UInt64(truncatingIfNeeded: (length &+ 7 &* Int(first & 0x1F)) & 63)
    }

    /// The bit of `name` (see ``nameBit(length:first:)``).
    @inline(__always)
    static func nameBit(_ name: String) -> UInt64 {
        let utf8 = name.utf8
        return nameBit(length: utf8.count, first: utf8.first ?? 0)
    }

    /// Whether a field whose name has `bit` (``nameBit(length:first:)``)
    /// may be here; false: it is not.
    @inline(__always)
    func mayContain(nameBit bit: UInt64) -> Bool {
        nameBits & bit != 0
    }

    /// Appends a field from its name's and value's bytes.
    mutating func append(_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) {
        nameBits |= Self.nameBit(length: name.count, first: name.first ?? 0)
        writeField(nameLength: name.count, valueOffset: name.count, valueLength: value.count) { bytes in
            if let source = name.baseAddress { bytes.copyMemory(from: source, byteCount: name.count) }
            if let source = value.baseAddress { (bytes + name.count).copyMemory(from: source, byteCount: value.count) }
        }
    }

    /// Appends a decoded field from its line: the name is its first
    /// `nameLength` bytes, the value `line[valueStart..<valueEnd]`; the
    /// bytes up to the value's end are copied in one piece. A request's
    /// field is at most 32 KiB by default; no header comes near 4 GiB.
    mutating func appendField(line: UnsafeRawBufferPointer, nameLength: Int, valueStart: Int, valueEnd: Int) {
        // A field line has a name of at least one byte (the decoder checked).
        nameBits |= Self.nameBit(length: nameLength, first: line.first ?? 0)
        // Wrapping arithmetic here and in `writeField`: every figure is a
        // length within a buffer, far from overflowing (the checks cost
        // ~10 instructions a field).
        // As ``writeField(nameLength:valueOffset:valueLength:_:)`` writes a
        // field, without its closure: swiftc kept the copy's closure out
        // of line (a call a field).
        let start = used
        let end = start &+ Self.fieldHeaderSize &+ valueEnd
        if end > storage.count { grow(toAtLeast: end) }
        storage.withUnsafeMutableBytes { storage in
            guard let base = storage.baseAddress else { return }
            storage.storeBytes(of: UInt32(truncatingIfNeeded: nameLength).littleEndian, toByteOffset: start, as: UInt32.self)
            storage.storeBytes(of: UInt32(truncatingIfNeeded: valueStart).littleEndian, toByteOffset: start &+ 4, as: UInt32.self)
            storage.storeBytes(of: UInt32(truncatingIfNeeded: valueEnd &- valueStart).littleEndian, toByteOffset: start &+ 8, as: UInt32.self)
            if let source = line.baseAddress { Self.copy(source, to: base + (start &+ Self.fieldHeaderSize), count: valueEnd) }
        }
        used = end
        count &+= 1
    }

    /// Copies `count` bytes from `source` to `target`: most field lines
    /// (8–32 bytes) as two pieces of eight or sixteen bytes, the second
    /// overlapping the first, each read and written within the `count`
    /// bytes; any other through `memmove`, whose call and size dispatch
    /// cost ~20 instructions a field more.
    @inline(__always)
    static func copy(_ source: UnsafeRawPointer, to target: UnsafeMutableRawPointer, count: Int) {
        if count &- 16 <= 16, count >= 16 {
            let last = count &- 16
            let first = source.loadUnaligned(as: SIMD16<UInt8>.self), second = source.loadUnaligned(fromByteOffset: last, as: SIMD16<UInt8>.self)
            target.storeBytes(of: first, as: SIMD16<UInt8>.self)
            target.storeBytes(of: second, toByteOffset: last, as: SIMD16<UInt8>.self)
        } else if count >= 8, count < 16 {
            let last = count &- 8
            let first = source.loadUnaligned(as: UInt64.self), second = source.loadUnaligned(fromByteOffset: last, as: UInt64.self)
            target.storeBytes(of: first, as: UInt64.self)
            target.storeBytes(of: second, toByteOffset: last, as: UInt64.self)
        } else {
            target.copyMemory(from: source, byteCount: count)
        }
    }

    /// Writes a field after the fields so far — its lengths, then its
    /// `valueOffset + valueLength` bytes by `copy` (given where they go) —
    /// and counts it. One mutable access to the storage: each checks that
    /// the array is not shared.
    @inline(__always)
    private mutating func writeField(
        nameLength: Int, valueOffset: Int, valueLength: Int, _ copy: (UnsafeMutableRawPointer) -> Void
    ) {
        let start = used
        let end = start &+ Self.fieldHeaderSize &+ valueOffset &+ valueLength
        if end > storage.count { grow(toAtLeast: end) }
        storage.withUnsafeMutableBytes { storage in
            guard let base = storage.baseAddress else { return }
            storage.storeBytes(of: UInt32(truncatingIfNeeded: nameLength).littleEndian, toByteOffset: start, as: UInt32.self)
            storage.storeBytes(of: UInt32(truncatingIfNeeded: valueOffset).littleEndian, toByteOffset: start &+ 4, as: UInt32.self)
            storage.storeBytes(of: UInt32(truncatingIfNeeded: valueLength).littleEndian, toByteOffset: start &+ 8, as: UInt32.self)
            copy(base + (start &+ Self.fieldHeaderSize))
        }
        used = end
        count &+= 1
    }

    /// Makes room for `size` bytes of fields: room for a typical request's
    /// fields at once, else twice as much as before (the fields so far kept).
    private mutating func grow(toAtLeast size: Int) {
        // Zeroed and the fields copied at once: appending the room to the
        // array would go element by element.
        var grown = [UInt8](repeating: 0, count: Swift.max(size, 256, storage.count * 2))
        let used = used
        if used > 0 {
            grown.withUnsafeMutableBytes { grown in
                storage.withUnsafeBytes { storage in grown.copyMemory(from: UnsafeRawBufferPointer(rebasing: storage[..<used])) }
            }
        }
        storage = grown
    }

    /// Calls `body` with each field's name and value bytes, in order, until
    /// it returns false — without making strings.
    func forEachField(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Bool) {
        storage.withUnsafeBytes { storage in
            var offset = 0
            for _ in 0..<count {
                let field = Self.field(at: offset, in: storage)
                offset = field.value.upperBound
                let name = UnsafeRawBufferPointer(rebasing: storage[field.name])
                guard body(name, UnsafeRawBufferPointer(rebasing: storage[field.value])) else { return }
            }
        }
    }

    /// Where the name and the value of the field whose lengths start at `offset` are.
    private static func field(at offset: Int, in storage: UnsafeRawBufferPointer) -> (name: Range<Int>, value: Range<Int>) {
        let nameLength = Int(UInt32(littleEndian: storage.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
        let valueOffset = Int(UInt32(littleEndian: storage.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)))
        let valueLength = Int(UInt32(littleEndian: storage.loadUnaligned(fromByteOffset: offset + 8, as: UInt32.self)))
        // Unchecked: each is an offset in the storage (below its count) plus
        // lengths of at most 2^32 - 1, so no sum overflows and no bound is
        // below its start (the checks cost ~8 instructions a field walked).
        let nameStart = offset &+ fieldHeaderSize, valueStart = nameStart &+ valueOffset
        return (Range(uncheckedBounds: (nameStart, nameStart &+ nameLength)),
                Range(uncheckedBounds: (valueStart, valueStart &+ valueLength)))
    }

    /// Where in ``storage`` the first value of the field named `name` (any case) is.
    private func firstValue(named name: String) -> Range<Int>? {
        let length = name.utf8.count
        guard mayContain(nameBit: Self.nameBit(length: length, first: name.utf8.first ?? 0)) else { return nil }
        return storage.withUnsafeBytes { storage -> Range<Int>? in
            var offset = 0
            for _ in 0..<count {
                let field = Self.field(at: offset, in: storage)
                // The length first: it rules out most fields without reading their names
                // (every request asks for `Content-Encoding`, which it seldom has).
                if field.name.count == length, HTTPHeaders.namesEqual(UnsafeRawBufferPointer(rebasing: storage[field.name]), name) {
                    return field.value
                }
                offset = field.value.upperBound
            }
            return nil
        }
    }

    /// ASCII case-insensitive comparison, as RFC 9110 defines for field names.
    static func namesEqual(_ lhs: UnsafeRawBufferPointer, _ rhs: String) -> Bool {
        guard lhs.count == rhs.utf8.count else { return false }
        // Through the string's contiguous bytes: `elementsEqual` on a
        // `UTF8View` walks its indices (~160 instructions for 12 bytes).
        let contiguous = rhs.utf8.withContiguousStorageIfAvailable { HTTPSyntax.equalIgnoringASCIICase(lhs, UnsafeRawBufferPointer($0)) }
        if let contiguous { return contiguous }
        return lhs.elementsEqual(rhs.utf8) { HTTPSyntax.lowercased($0) == HTTPSyntax.lowercased($1) }
    }
}

extension HTTPHeaders: Sequence {
    /// Iterates over the fields in order.
    public func makeIterator() -> Iterator {
        var fields: [Field] = []
        forEachField { name, value in
            fields.append((name: String(decoding: name, as: UTF8.self), value: String(decoding: value, as: UTF8.self)))
            return true
        }
        return Iterator(fields: fields.makeIterator())
    }

    /// The fields in order, as ``Field``s (their strings made when iterating starts).
    public struct Iterator: IteratorProtocol {
        var fields: IndexingIterator<[Field]>

        public mutating func next() -> Field? { fields.next() }
    }
}
