import RESP

/// Which master serves each hash slot, as a value: read from `CLUSTER SLOTS`,
/// corrected by `MOVED` replies, asked on every command.
///
/// A lookup is two array reads. Masters are numbered in the order they were
/// first seen; a slot's entry is its master's number, or ``unowned``.
struct ClusterSlotMap: Sendable, Equatable {
    /// The entry of a slot no known master serves.
    static let unowned = UInt16.max

    /// Each slot's master, as an index into ``primaries``.
    private(set) var owners: [UInt16]
    /// The masters, in the order first seen.
    private(set) var primaries: [RedisEndpoint]

    /// A map in which no slot has a master.
    init() {
        owners = [UInt16](repeating: Self.unowned, count: RedisHashSlot.count)
        primaries = []
    }

    /// Reads a `CLUSTER SLOTS` reply: `[[start, end, [host, port, id, …], replica…], …]`.
    /// - Parameter node: the node that answered; an empty host means its host.
    /// - Throws: ``RedisError`` `protocolViolation` when the reply has another shape.
    init(slotsReply reply: RESPValue, from node: RedisEndpoint) throws(RedisError) {
        self.init()
        guard let ranges = reply.array else { throw Self.malformed("not an array") }
        for range in ranges {
            guard let fields = range.array, fields.count >= 3,
                  let start = fields[0].int, let end = fields[1].int, 0 <= start, start <= end, end < RedisHashSlot.count,
                  let master = fields[2].array, master.count >= 2, let port = master[1].int, let port = UInt16(exactly: port), port > 0
            else { throw Self.malformed("a slot range has an unexpected shape") }
            // "?" or null: the node's address is unknown for now; leave its slots unowned.
            guard let host = master[0].string, host != "?" else { continue }
            let endpoint = RedisEndpoint(host: host.isEmpty ? node.host : host, port: port)
            let index = self.index(of: endpoint)
            for slot in start...end { owners[slot] = index }
        }
    }

    /// The master serving `slot`, if one is known.
    func primary(for slot: RedisHashSlot) -> RedisEndpoint? {
        let index = owners[Int(slot.value)]
        return index == Self.unowned ? nil : primaries[Int(index)]
    }

    /// Records a `MOVED`: `slot` is served by `endpoint` from now on.
    mutating func assign(_ slot: RedisHashSlot, to endpoint: RedisEndpoint) {
        owners[Int(slot.value)] = index(of: endpoint)
    }

    /// Whether every slot has a master.
    var coversEverySlot: Bool { !owners.contains(Self.unowned) }

    /// The slots without a master, as ranges.
    var unownedSlots: [ClosedRange<Int>] {
        ranges { $0 == Self.unowned }
    }

    /// Every master serving at least one slot, with its slots, by first slot.
    var shards: [RedisShard] {
        primaries.indices.compactMap { index in
            let slots = ranges { $0 == UInt16(index) }
            return slots.isEmpty ? nil : RedisShard(primary: primaries[index], slots: slots)
        }
        .sorted { $0.slots[0].lowerBound < $1.slots[0].lowerBound }
    }

    private mutating func index(of endpoint: RedisEndpoint) -> UInt16 {
        if let index = primaries.firstIndex(of: endpoint) { return UInt16(index) }
        primaries.append(endpoint)
        return UInt16(primaries.count - 1)
    }

    /// Runs of consecutive slots whose entry satisfies `matches`.
    private func ranges(where matches: (UInt16) -> Bool) -> [ClosedRange<Int>] {
        var ranges: [ClosedRange<Int>] = []
        var start: Int?
        for slot in 0...RedisHashSlot.count {
            let inside = slot < RedisHashSlot.count && matches(owners[slot])
            if inside, start == nil { start = slot }
            if !inside, let first = start {
                ranges.append(first...(slot - 1))
                start = nil
            }
        }
        return ranges
    }

    private static func malformed(_ detail: String) -> RedisError {
        RedisError(.protocolViolation, message: "CLUSTER SLOTS answered in an unexpected way: \(detail)")
    }
}

/// A master and the hash slots it serves: one part of the keyspace, to be
/// walked with `SCAN` through ``RedisClient/send(_:route:idempotent:)`` and
/// ``RedisRoute/slot(_:)``. A single server or a Sentinel master is one shard
/// serving every slot.
public struct RedisShard: Sendable, Hashable, CustomStringConvertible {
    /// The master's address.
    public let primary: RedisEndpoint
    /// The slots it serves, as ascending, disjoint ranges (never empty).
    public let slots: [ClosedRange<Int>]

    /// Creates a shard description.
    public init(primary: RedisEndpoint, slots: [ClosedRange<Int>]) {
        self.primary = primary
        self.slots = slots
    }

    /// Its first slot: ``RedisRoute/slot(_:)`` with it reaches this shard's
    /// master, also after a failover moved the shard to a promoted replica.
    public var firstSlot: RedisHashSlot { RedisHashSlot(slots.first?.lowerBound ?? 0) }

    public var description: String {
        "\(primary) (slots \(slots.map { "\($0.lowerBound)-\($0.upperBound)" }.joined(separator: ",")))"
    }
}
