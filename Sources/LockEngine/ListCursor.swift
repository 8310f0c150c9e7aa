/// The opaque `cursor` of a lock listing: which shard a store's scan is on,
/// where the scan stands there and the last name already returned. Text form
/// `SCAN:NAME`, or `SLOT.SCAN:NAME` past the first shard; URL-safe as is.
struct ListCursor: Equatable {
    /// The first hash slot of the shard being scanned (0 for one server,
    /// Sentinel and in-memory): a slot, not an address, so that the cursor
    /// still leads to the shard after a failover promoted its replica.
    var slot: Int = 0
    /// The store's own scan position (Redis `SCAN` cursor; 0 for in-memory).
    var scan: UInt64
    /// The last name returned; the next page starts after it.
    var after: String

    var encoded: String { slot == 0 ? "\(scan):\(after)" : "\(slot).\(scan):\(after)" }

    static func decode(_ text: String) throws(LockError) -> ListCursor {
        let invalid = LockError.invalidRequest("cursor is not one that lockd returned; start without it")
        guard let colon = text.firstIndex(of: ":") else { throw invalid }
        let position = text[..<colon]
        var slot = 0
        var scanText = position
        if let dot = position.firstIndex(of: ".") {
            guard let value = Int(position[..<dot]), (0..<16_384).contains(value) else { throw invalid }
            slot = value
            scanText = position[position.index(after: dot)...]
        }
        guard let scan = UInt64(scanText) else { throw invalid }
        let after = String(text[text.index(after: colon)...])
        guard after.isEmpty || (try? LockName(after)) != nil else { throw invalid }
        return ListCursor(slot: slot, scan: scan, after: after)
    }
}
