/// How the responses to one kind of request turned out.
public struct StatusCounts: Sendable, Equatable, Codable {
    /// `201`/`200` for an acquire, `204` for a release.
    public var success = 0
    /// `409`: lock held (acquire) or lease lost (release).
    public var conflict = 0
    /// `503`: the server cannot reach its store.
    public var unavailable = 0
    /// Any other status.
    public var other = 0

    /// Creates zero counts.
    public init() {}

    /// Counts one response with `status`, where `successes` are the codes
    /// that mean the request did what it asked.
    public mutating func count(_ status: Int, successes: ClosedRange<Int>) {
        switch status {
        case successes: success += 1
        case 409: conflict += 1
        case 503: unavailable += 1
        default: other += 1
        }
    }

    /// Adds another set of counts to this one.
    public mutating func add(_ other: StatusCounts) {
        success += other.success
        conflict += other.conflict
        unavailable += other.unavailable
        self.other += other.other
    }
}
