extension LockClient {
    /// Every held lock whose name starts with `prefix`, paged for you.
    ///
    /// ```swift
    /// let held = try await locks.list(prefix: "orders:").reduce(into: [String]()) { $0.append($1.name) }
    /// ```
    ///
    /// - Parameters:
    ///   - prefix: Only names that start with this; the empty prefix lists all.
    ///   - pageSize: How many locks to fetch per request (1–1000).
    public func list(prefix: String = "", pageSize: Int = 100) -> LockListing {
        LockListing(remote: remote, prefix: prefix, pageSize: pageSize)
    }

    /// What lockd says about one lock: free (`isHeld == false`, no holders) or who holds it.
    ///
    /// ```swift
    /// let status = try await locks.status("orders:4711")
    /// print(status.isHeld ? "held by \(status.holders[0].owner ?? "?")" : "free")
    /// ```
    ///
    /// - Parameter name: 1–255 bytes of `[A-Za-z0-9._:-]`, not `.` or `..`.
    /// - Throws: ``LockError``, or `CancellationError`.
    public func status(_ name: String) async throws -> LockStatus {
        try LockName.validate(name)
        return try await remote.status(name)
    }
}
