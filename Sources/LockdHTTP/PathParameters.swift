/// The values a ``Router`` bound to a route's `{name}` segments, percent-decoded.
///
/// A route has a parameter or two, so they are kept in order and found by
/// comparing names: a `Dictionary` made per request cost an allocation and
/// three string hashes (~2 000 instructions). The first is kept inline, the
/// others in an array: a route with one parameter (every lock route) binds
/// it without an allocation (an array of one cost ~0.35 k instructions with
/// its free).
///
/// ```swift
/// let name = context.parameters["name"] ?? ""
/// ```
public struct PathParameters: Sendable, Equatable, ExpressibleByDictionaryLiteral {
    /// A struct, not a tuple: an array of tuples is destroyed through the
    /// runtime's generic tuple code (see ``HTTPHeaders``).
    private struct Pair {
        var name: String
        var value: String
    }

    /// The first parameter; nil only when there are none.
    private var first: Pair?
    /// The parameters after the first.
    private var others: [Pair] = []

    /// No parameters.
    public init() {}

    /// Parameters from `[name: value]` pairs (tests and adapters).
    public init(dictionaryLiteral elements: (String, String)...) {
        for (name, value) in elements { self[name] = value }
    }

    /// Every parameter in order.
    private var pairs: [Pair] {
        guard let first else { return [] }
        return [first] + others
    }

    /// The value bound to `name`, if the route has that parameter.
    public subscript(name: String) -> String? {
        get {
            if let value = first.flatMap({ $0.name == name ? $0.value : nil }) { return value }
            return others.first { $0.name == name }?.value
        }
        set {
            var pairs = pairs
            let index = pairs.firstIndex { $0.name == name }
            switch (index, newValue) {
            case (let index?, let value?): pairs[index].value = value
            case (let index?, nil): pairs.remove(at: index)
            case (nil, let value?): pairs.append(Pair(name: name, value: value))
            case (nil, nil): break
            }
            first = pairs.first
            others = Array(pairs.dropFirst())
        }
    }

    /// Appends a parameter the router bound (its names are distinct),
    /// taking its name and value (consumed: lent, each was copied again).
    mutating func append(name: consuming String, value: consuming String) {
        if first == nil {
            first = Pair(name: name, value: value)
        } else {
            others.append(Pair(name: name, value: value))
        }
    }

    /// How many parameters are bound.
    public var count: Int { first == nil ? 0 : 1 + others.count }

    public static func == (lhs: PathParameters, rhs: PathParameters) -> Bool {
        lhs.count == rhs.count && lhs.pairs.allSatisfy { rhs[$0.name] == $0.value }
    }
}
