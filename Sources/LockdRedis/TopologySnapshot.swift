/// Where commands go, as one immutable value that the topology monitor
/// hands to every loop's router and to the subscriber.
struct TopologySnapshot: Sendable {
    /// How the keyspace maps onto masters.
    enum Layout: Sendable, Equatable {
        /// One master for every key; nil while none is known (Sentinel before
        /// or between masters).
        case single(RedisEndpoint?)
        /// Redis Cluster: a master per hash slot.
        case slots(ClusterSlotMap)
    }

    var layout: Layout
    /// Why some or all commands cannot be served now (no master known, slots
    /// without a master), for their errors and for readiness; nil when all is well.
    var problem: RedisError?

    /// The master a key in `slot` goes to, if one is known.
    func primary(for slot: RedisHashSlot?) -> RedisEndpoint? {
        switch layout {
        case .single(let master): master
        case .slots(let map): map.primary(for: slot ?? RedisHashSlot(0))
        }
    }

    /// Every master in use with the slots it serves.
    var shards: [RedisShard] {
        switch layout {
        case .single(let master): master.map { [RedisShard(primary: $0, slots: [0...RedisHashSlot.count - 1])] } ?? []
        case .slots(let map): map.shards
        }
    }

    /// The error for a command that finds no master for `slot`.
    func noPrimaryError(for slot: RedisHashSlot?) -> RedisError {
        switch layout {
        case .single:
            return problem ?? RedisError(.unreachable, message: "no Redis master is known yet")
        case .slots:
            // A setting to fix is reported as it is; otherwise name the slot.
            if let problem, problem.kind != .unreachable { return problem }
            let detail = problem.map { " (\($0.message))" } ?? ""
            return RedisError(.unreachable, message: "no Redis master serves hash slot \(slot ?? RedisHashSlot(0)) now\(detail)")
        }
    }
}
