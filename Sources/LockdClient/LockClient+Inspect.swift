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

    /// The holder whose live lease on `name` has `fence`, or nil when none
    /// has it: it was released, expired or force-released, or never issued.
    /// Chubby's CheckSequencer — a protected resource asks before it
    /// accepts a write carrying `fence`.
    ///
    /// ```swift
    /// guard try await locks.holder("orders:4711", fence: write.fence) != nil else {
    ///     throw StaleWrite()
    /// }
    /// ```
    ///
    /// "Not held" is an answer, not a failure, so it is nil rather than
    /// ``LockError/notHeld(fence:)``; an error means lockd could not say
    /// (unavailable past the client's timeout, no `read` grant, …), and a
    /// careful resource then refuses the write.
    ///
    /// - Parameters:
    ///   - name: 1–255 bytes of `[A-Za-z0-9._:-]`, not `.` or `..`.
    ///   - fence: 1 … 2^53 − 1.
    /// - Throws: ``LockError``, or `CancellationError`.
    public func holder(_ name: String, fence: Int64) async throws -> LockHolder? {
        try LockName.validate(name)
        guard (1...9_007_199_254_740_991).contains(fence) else {
            throw LockError.invalidRequest(detail: "fence must be between 1 and 9007199254740991")
        }
        return try await remote.holder(name, fence: fence)
    }
}
