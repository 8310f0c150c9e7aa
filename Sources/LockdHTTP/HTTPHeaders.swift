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
/// as its name's and its value's lengths (four bytes each) followed by the
/// name and the value. A request's fields are copied there as they are
/// decoded, and a value becomes a `String` only when it is read: making one
/// of each value as it was decoded cost ~170 instructions a field (and an
/// allocation for a value longer than 15 bytes) whether or not anything read
/// it. One array of bytes is one allocation, freed without visiting its fields.
public struct HTTPHeaders: Sendable, Equatable, ExpressibleByDictionaryLiteral {
    /// One field: the name as sent and its value with surrounding whitespace removed.
    public typealias Field = (name: String, value: String)

    /// Each field: name length and value length (UInt32, little-endian), name, value.
    private var storage: [UInt8] = []
    /// The number of fields, repeats counted.
    public private(set) var count = 0

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
    var storageCapacity: Int { storage.capacity }

    /// Drops every field and keeps the storage for others (fresh storage of
    /// the same size when something else still holds this one).
    mutating func removeAllKeepingStorage() {
        storage.removeAll(keepingCapacity: true)
        count = 0
    }

    /// Appends a field from its bytes (the decoder's fields, as received).
    mutating func append(_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) {
        // Room for a typical request's fields at once, not grown in steps.
        if storage.isEmpty { storage.reserveCapacity(256) }
        // The whole field — lengths, name, value — assembled in temporary
        // memory (on the stack for any usual field) and appended as one
        // typed buffer: each `append(contentsOf:)` checks uniqueness and
        // capacity (~90 instructions), three a field cost ~1 k a lock
        // request (appending a raw buffer would go byte by byte). A
        // request's field is at most 32 KiB; no header comes near 4 GiB.
        let size = 8 + name.count + value.count
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: size) { field in
            let raw = UnsafeMutableRawBufferPointer(field)
            raw.storeBytes(of: UInt32(name.count).littleEndian, toByteOffset: 0, as: UInt32.self)
            raw.storeBytes(of: UInt32(value.count).littleEndian, toByteOffset: 4, as: UInt32.self)
            UnsafeMutableRawBufferPointer(rebasing: raw[8..<(8 + name.count)]).copyMemory(from: name)
            UnsafeMutableRawBufferPointer(rebasing: raw[(8 + name.count)..<size]).copyMemory(from: value)
            storage.append(contentsOf: UnsafeBufferPointer(field))
        }
        count += 1
    }

    /// Calls `body` with each field's name and value bytes, in order, until
    /// it returns false — without making strings.
    func forEachField(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Bool) {
        storage.withUnsafeBytes { storage in
            var offset = 0
            for _ in 0..<count {
                let nameLength = Int(UInt32(littleEndian: storage.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
                let valueLength = Int(UInt32(littleEndian: storage.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)))
                let nameStart = offset + 8, valueStart = nameStart + nameLength
                offset = valueStart + valueLength
                let name = UnsafeRawBufferPointer(rebasing: storage[nameStart..<valueStart])
                guard body(name, UnsafeRawBufferPointer(rebasing: storage[valueStart..<offset])) else { return }
            }
        }
    }

    /// Where in ``storage`` the first value of the field named `name` (any case) is.
    private func firstValue(named name: String) -> Range<Int>? {
        let length = name.utf8.count
        return storage.withUnsafeBytes { storage -> Range<Int>? in
            var offset = 0
            for _ in 0..<count {
                let nameLength = Int(UInt32(littleEndian: storage.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
                let valueLength = Int(UInt32(littleEndian: storage.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)))
                let valueStart = offset + 8 + nameLength
                // The length first: it rules out most fields without reading their names
                // (every request asks for `Content-Encoding`, which it seldom has).
                if nameLength == length, HTTPHeaders.namesEqual(UnsafeRawBufferPointer(rebasing: storage[(offset + 8)..<valueStart]), name) {
                    return valueStart..<(valueStart + valueLength)
                }
                offset = valueStart + valueLength
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
