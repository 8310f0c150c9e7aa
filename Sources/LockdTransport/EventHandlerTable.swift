/// The handlers of a loop's descriptors, found by the descriptor's number.
///
/// The kernel hands out the lowest free descriptor, so the numbers in use
/// stay dense and an array indexed by them is short: a slot is 16 bytes (a
/// class-bound existential; nil costs no extra byte), ~1.6 MB per loop for
/// 100 000 descriptors open in the process. Looking a handler up in a
/// `Dictionary` hashed its key with SipHash and probed (~0.2 k instructions
/// per event, one or two per request); here it is a bounds check and a load.
struct EventHandlerTable {
    private var slots: [(any EventHandler)?] = []

    /// The handler registered for `fd`, or nil.
    subscript(fd: Int32) -> (any EventHandler)? {
        get {
            let index = Int(fd)
            guard index >= 0, index < slots.count else { return nil }
            return slots[index]
        }
        set {
            let index = Int(fd)
            guard index >= 0 else { return }
            if index >= slots.count {
                guard newValue != nil else { return }
                // Grown by doubling, so a run of new descriptors costs few copies.
                let count = Swift.max(index + 1, slots.count * 2, 64)
                slots.append(contentsOf: repeatElement(nil, count: count - slots.count))
            }
            slots[index] = newValue
        }
    }

    /// Forgets every handler (and lets go of them).
    mutating func removeAll() {
        slots.removeAll()
    }
}
