/// The handlers of a loop's descriptors, found by the descriptor's number.
///
/// The kernel hands out the lowest free descriptor, so the numbers in use
/// stay dense and an array indexed by them is short: a slot is 24 bytes (a
/// class-bound existential, and the same handler unretained when it is a
/// ``StreamSocket``), ~2.4 MB per loop for 100 000 descriptors open in the
/// process. Looking a handler up in a `Dictionary` hashed its key with
/// SipHash and probed (~0.2 k instructions per event, one or two per
/// request); here it is a bounds check and a load.
struct EventHandlerTable {
    private struct Slot {
        /// The handler, held.
        var handler: (any EventHandler)?
        /// The same handler when it is a stream (nearly every descriptor
        /// is), unretained: called through it, an event costs no retain and
        /// release of its handler (~40 instructions an event, two a Redis
        /// lock request) and no witness's call. See ``stream(fd:)``.
        var stream: Unmanaged<StreamSocket>?
    }

    private var slots: [Slot] = []

    /// The handler registered for `fd`, or nil.
    subscript(fd: Int32) -> (any EventHandler)? {
        get {
            let index = Int(fd)
            guard index >= 0, index < slots.count else { return nil }
            return slots[index].handler
        }
        set {
            let index = Int(fd)
            guard index >= 0 else { return }
            if index >= slots.count {
                guard newValue != nil else { return }
                // Grown by doubling, so a run of new descriptors costs few copies.
                let count = Swift.max(index + 1, slots.count * 2, 64)
                slots.append(contentsOf: repeatElement(Slot(), count: count - slots.count))
            }
            // (A cast as a descriptor is registered, not as its events come.)
            let stream = (newValue as? StreamSocket).map { Unmanaged.passUnretained($0) }
            slots[index] = Slot(handler: newValue, stream: stream)
        }
    }

    /// The handler of `fd` when it is a stream, unretained; nil when `fd`
    /// has no handler or another kind (a listener).
    ///
    /// A trivial value, read and let go of before the call: the loop calls
    /// the stream with no retain of it, nor of this table's storage (a call
    /// made while the table was accessed retained the storage, as the call
    /// might change the table). That is safe only because the table holds
    /// the stream until its slot changes, and the loop keeps every handler
    /// taken out of the table alive until its iteration ends
    /// (``EventLoop/deregister(fd:)`` retires it): a stream that closes
    /// itself during the call, and so drops the table's reference and
    /// perhaps its owner's, still lives until the call returns.
    @inline(__always)
    func stream(fd: Int32) -> Unmanaged<StreamSocket>? {
        let index = Int(fd)
        guard index >= 0, index < slots.count else { return nil }
        return slots[index].stream
    }

    /// Forgets every handler (and lets go of them).
    mutating func removeAll() {
        slots.removeAll()
    }
}
