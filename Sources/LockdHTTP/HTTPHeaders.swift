/// Header fields in the order received or added; names compare
/// case-insensitively (ASCII), repeated fields are kept.
///
/// ```swift
/// var headers: HTTPHeaders = ["Content-Type": "application/json"]
/// headers.add(name: "Vary", value: "Accept")
/// request.headers["lock-token"]            // first value, any case
/// request.headers.values(for: "Accept")     // every value, in order
/// ```
public struct HTTPHeaders: Sendable, Equatable, ExpressibleByDictionaryLiteral {
    /// One field: the name as sent and its value with surrounding whitespace removed.
    public typealias Field = (name: String, value: String)

    /// A field as stored: a struct, not the ``Field`` tuple, because an
    /// array of tuples is destroyed element by element through the
    /// runtime's generic tuple code (each request's and each response's
    /// fields), a struct by its own, much cheaper witness.
    struct Stored {
        var name: String
        var value: String
    }

    private var fields: [Stored]

    /// An empty set of fields.
    public init() { fields = [] }

    /// Fields in the given order.
    public init(_ fields: [Field]) { self.fields = fields.map { Stored(name: $0.name, value: $0.value) } }

    /// Fields as the decoder stores them, taken as they are.
    init(stored fields: [Stored]) { self.fields = fields }

    public init(dictionaryLiteral elements: (String, String)...) {
        fields = elements.map { Stored(name: $0.0, value: $0.1) }
    }

    /// The number of fields, repeats counted.
    public var count: Int { fields.count }

    /// Whether there are no fields.
    public var isEmpty: Bool { fields.isEmpty }

    /// The first value of the field named `name` (any case), or nil.
    public subscript(name: String) -> String? {
        for field in fields where HTTPHeaders.namesEqual(field.name, name) { return field.value }
        return nil
    }

    /// Every value of the field named `name` (any case), in order.
    public func values(for name: String) -> [String] {
        fields.compactMap { HTTPHeaders.namesEqual($0.name, name) ? $0.value : nil }
    }

    /// Whether a field named `name` (any case) is present.
    public func contains(_ name: String) -> Bool {
        fields.contains { HTTPHeaders.namesEqual($0.name, name) }
    }

    /// Appends a field, keeping any with the same name.
    public mutating func add(name: String, value: String) {
        fields.append(Stored(name: name, value: value))
    }

    /// Replaces every field named `name` with one field holding `value`.
    public mutating func replaceOrAdd(name: String, value: String) {
        remove(name)
        fields.append(Stored(name: name, value: value))
    }

    /// Removes every field named `name` (any case).
    public mutating func remove(_ name: String) {
        fields.removeAll { HTTPHeaders.namesEqual($0.name, name) }
    }

    public static func == (lhs: HTTPHeaders, rhs: HTTPHeaders) -> Bool {
        lhs.fields.count == rhs.fields.count
            && zip(lhs.fields, rhs.fields).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }

    /// ASCII case-insensitive comparison, as RFC 9110 defines for field names.
    static func namesEqual(_ lhs: String, _ rhs: String) -> Bool {
        guard lhs.utf8.count == rhs.utf8.count else { return false }
        // Through the strings' contiguous bytes: `elementsEqual` on two
        // `UTF8View`s walks their indices (~160 instructions for 12 bytes).
        let contiguous = lhs.utf8.withContiguousStorageIfAvailable { left in
            rhs.utf8.withContiguousStorageIfAvailable { right in
                for index in 0..<left.count where HTTPSyntax.lowercased(left[index]) != HTTPSyntax.lowercased(right[index]) {
                    return false
                }
                return true
            }
        }
        if let contiguous, let equal = contiguous { return equal }
        return lhs.utf8.elementsEqual(rhs.utf8) { HTTPSyntax.lowercased($0) == HTTPSyntax.lowercased($1) }
    }
}

extension HTTPHeaders: Sequence {
    /// Iterates over the fields in order.
    public func makeIterator() -> Iterator { Iterator(stored: fields.makeIterator()) }

    /// The fields in order, as ``Field``s.
    public struct Iterator: IteratorProtocol {
        var stored: IndexingIterator<[Stored]>

        public mutating func next() -> Field? {
            stored.next().map { (name: $0.name, value: $0.value) }
        }
    }
}
