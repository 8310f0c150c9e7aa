/// The values a ``Router`` bound to a route's `{name}` segments, percent-decoded.
///
/// A route has a parameter or two, so they are kept in order in a small
/// array and found by comparing names: a `Dictionary` made per request cost
/// an allocation and three string hashes (~2 000 instructions).
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

    private var pairs: [Pair] = []

    /// No parameters.
    public init() {}

    /// Parameters from `[name: value]` pairs (tests and adapters).
    public init(dictionaryLiteral elements: (String, String)...) {
        for (name, value) in elements { self[name] = value }
    }

    /// The value bound to `name`, if the route has that parameter.
    public subscript(name: String) -> String? {
        get { pairs.first { $0.name == name }?.value }
        set {
            let index = pairs.firstIndex { $0.name == name }
            switch (index, newValue) {
            case (let index?, let value?): pairs[index].value = value
            case (let index?, nil): pairs.remove(at: index)
            case (nil, let value?): pairs.append(Pair(name: name, value: value))
            case (nil, nil): break
            }
        }
    }

    /// Appends a parameter the router bound (its names are distinct).
    mutating func append(name: String, value: String) {
        // Room for a route's parameters at once (one or two).
        if pairs.isEmpty { pairs.reserveCapacity(2) }
        pairs.append(Pair(name: name, value: value))
    }

    /// How many parameters are bound.
    public var count: Int { pairs.count }

    public static func == (lhs: PathParameters, rhs: PathParameters) -> Bool {
        lhs.pairs.count == rhs.pairs.count && lhs.pairs.allSatisfy { rhs[$0.name] == $0.value }
    }
}
