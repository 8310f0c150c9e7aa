/// The last events a ``LockEventHub`` delivered, oldest first, so that a
/// reader who reconnects with the SSE `Last-Event-ID` is handed what it
/// missed instead of a gap.
///
/// Every delivery the hub numbers goes in, so sequence numbers in the ring
/// are consecutive: what follows a given sequence is found by counting,
/// not by searching.
public struct EventReplayRing {
    /// Deliveries kept (the newest): about 200 bytes each.
    public static let defaultCapacity = 1_024

    let capacity: Int
    /// Filled in order until full; then the oldest is at `oldest`.
    private var slots: [LockEventHub.Delivery] = []
    private var oldest = 0

    init(capacity: Int = Self.defaultCapacity) {
        self.capacity = max(1, capacity)
    }

    /// Keeps `delivery` (numbered one past the previous one), forgetting the oldest when full.
    mutating func append(_ delivery: LockEventHub.Delivery) {
        if slots.count < capacity {
            slots.append(delivery)
        } else {
            slots[oldest] = delivery
            oldest = (oldest + 1) % capacity
        }
    }

    /// The deliveries numbered after `sequence` up to `latest` (the last one
    /// appended), oldest first; nil when some of them are no longer kept or
    /// `sequence` is not one the hub has issued.
    func after(_ sequence: UInt64, latest: UInt64) -> [LockEventHub.Delivery]? {
        guard sequence <= latest, latest - sequence <= UInt64(slots.count) else { return nil }
        let wanted = Int(latest - sequence)
        return (slots.count - wanted ..< slots.count).map { slots[(oldest + $0) % slots.count] }
    }
}
