/// The held locks whose names start with a prefix, fetched a page at a time as
/// you iterate: what ``LockClient/list(prefix:pageSize:)`` returns.
///
/// ```swift
/// for try await status in locks.list(prefix: "orders:") {
///     print(status.name, status.holders.first?.owner ?? "-")
/// }
/// ```
///
/// Each iteration starts from the first page; locks taken or released while you
/// iterate may or may not appear.
public struct LockListing: AsyncSequence, Sendable {
    /// One held lock.
    public typealias Element = LockStatus

    let remote: RemoteLocks
    let prefix: String
    let pageSize: Int

    /// Starts a new iteration from the first page.
    public func makeAsyncIterator() -> Iterator {
        Iterator(remote: remote, prefix: prefix, pageSize: pageSize)
    }

    /// Fetches the next page when the current one is used up.
    public struct Iterator: AsyncIteratorProtocol {
        let remote: RemoteLocks
        let prefix: String
        let pageSize: Int
        private var page: [LockStatus] = []
        private var index = 0
        private var cursor: String?
        private var finished = false

        init(remote: RemoteLocks, prefix: String, pageSize: Int) {
            self.remote = remote
            self.prefix = prefix
            self.pageSize = pageSize
        }

        /// The next held lock, or `nil` after the last page.
        ///
        /// - Throws: ``LockError`` if a page cannot be fetched (iteration can go on
        ///   with the same iterator, which retries that page), or `CancellationError`.
        public mutating func next() async throws -> LockStatus? {
            while index == page.count {
                if finished { return nil }
                try LockName.validatePrefix(prefix)
                let (locks, next) = try await remote.page(prefix: prefix, limit: pageSize, cursor: cursor)
                // A page with a cursor may be empty; only a missing cursor ends the list
                // (or one that would start over or stand still, which must not loop forever).
                finished = next == nil || next == "" || next == cursor
                (page, index, cursor) = (locks, 0, next)
            }
            defer { index += 1 }
            return page[index]
        }
    }
}
