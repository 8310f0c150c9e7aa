/// The opaque `cursor` of a lock listing: where a store's scan stands and the
/// last name already returned. Text form `SCAN:NAME`, URL-safe as is.
struct ListCursor: Equatable {
    /// The store's own scan position (Redis `SCAN` cursor; 0 for in-memory).
    var scan: UInt64
    /// The last name returned; the next page starts after it.
    var after: String

    var encoded: String { "\(scan):\(after)" }

    static func decode(_ text: String) throws(LockError) -> ListCursor {
        let invalid = LockError.invalidRequest("cursor is not one that lockd returned; start without it")
        guard let colon = text.firstIndex(of: ":"), let scan = UInt64(text[..<colon]) else { throw invalid }
        let after = String(text[text.index(after: colon)...])
        guard after.isEmpty || (try? LockName(after)) != nil else { throw invalid }
        return ListCursor(scan: scan, after: after)
    }
}
